package asm

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Sweep is sequential: row i reads the values rows 0 … i−1 wrote. A tier's
// output is therefore checked against its own trajectory, step by step: for
// each i, the exact (float64) v_i = z_in[i] − (Σ_p h[i][p]·z_mixed[p] −
// c[i])·invH[i] with z_mixed[p] = z_out[p] for p < i and z_in[p] for p ≥ i,
// and z_out[i] must be within one implementation's rounding bound of
// clamp(v_i) (unitRef: γ_{d+1}-bound on the sum, two more roundings for the
// step; the clamp is 1-Lipschitz). Errors cannot accumulate unnoticed, and
// no tolerance depends on how the sweep contracts.

// sweepStep checks one step: got is z_out[i], u the exact picture of the
// step from the trajectory.
func sweepStep(t *testing.T, what string, u *unitRef, got, lo, hi float32) {
	t.Helper()
	g := float64(got)
	if !math.IsNaN(g) && !(float64(lo) <= g && g <= float64(hi)) {
		t.Fatalf("%s: got %v outside [%v, %v]", what, got, lo, hi)
	}
	clamp64 := func(v float64) float64 { return math.Min(math.Max(v, float64(lo)), float64(hi)) }
	e := u.bound2 / 2 // one implementation against the exact value
	switch {
	case math.IsNaN(u.v):
		if !math.IsNaN(g) {
			t.Fatalf("%s: exact v is NaN, got %v", what, got)
		}
	case u.ovf:
		// An intermediate may overflow in some order (even to NaN):
		// only the range check above applies.
	case math.IsInf(u.v, 0):
		want := []float32{float32(u.v)}
		clampGeneric(want, lo, hi)
		if math.Float32bits(got) != math.Float32bits(want[0]) {
			t.Fatalf("%s: exact v=%v clamps to %v, got %v", what, u.v, want[0], got)
		}
	default:
		if math.IsNaN(g) || math.IsInf(g, 0) && !math.IsInf(clamp64(u.v), 0) {
			t.Fatalf("%s: exact v=%v finite, got %v", what, u.v, got)
		}
		if d := math.Abs(g - clamp64(u.v)); d > e {
			t.Fatalf("%s: got %v, exact clamp(v)=%v, |diff| %g > bound %g", what, got, clamp64(u.v), d, e)
		}
		// Where the computed v is certainly beyond a bound, the result is
		// that bound bit for bit (−0 stays −0).
		if u.v+e < float64(lo) && math.Float32bits(got) != math.Float32bits(lo) {
			t.Fatalf("%s: v=%v < lo=%v by more than %g, got %#x, want lo %#x", what, u.v, lo, e, math.Float32bits(got), math.Float32bits(lo))
		}
		if u.v-e > float64(hi) && math.Float32bits(got) != math.Float32bits(hi) {
			t.Fatalf("%s: v=%v > hi=%v by more than %g, got %#x, want hi %#x", what, u.v, hi, e, math.Float32bits(got), math.Float32bits(hi))
		}
	}
}

// checkSweep checks zOut, the result of Sweep on zIn, step by step.
func checkSweep(t *testing.T, what string, zIn, zOut, h, c, invH []float32, d int, lo, hi float32) {
	t.Helper()
	mixed := slices.Clone(zIn[:d])
	for i := 0; i < d; i++ {
		u := newUnitRef(mixed, h[i*d:i*d+d], c[i:i+1], i, d, 1, 0, invH[i])
		sweepStep(t, fmt.Sprintf("%s step %d", what, i), &u, zOut[i], lo, hi)
		mixed[i] = zOut[i]
	}
}

// sweepProblem returns a BCD layer problem of d units: h with diagonal
// hii > 0 and off-diagonal entries uniform in ±scale/√d, c and z uniform in
// ±1, invH = 1/diag.
func sweepProblem(rng *rand.Rand, d int, hii, scale float64) (z, h, c, invH []float32) {
	z, c = randVec(rng, d), randVec(rng, d)
	h = randVec(rng, d*d)
	invH = make([]float32, d)
	s := float32(scale / math.Sqrt(float64(d)))
	for i := 0; i < d; i++ {
		for p := 0; p < d; p++ {
			h[i*d+p] *= s
		}
		hd := float32(hii * (0.5 + rng.Float64()))
		h[i*d+i] = hd
		invH[i] = 1 / hd
	}
	return z, h, c, invH
}

// sweepDims: every d through 70 (every remainder of d mod 8 against one to
// nine blocks of eight rows, and d < 8, which no vector row fits), and
// larger ones.
var sweepDims = func() []int {
	var ds []int
	for d := 0; d <= 70; d++ {
		ds = append(ds, d)
	}
	return append(ds, 127, 128, 129, 255, 256, 257, 263, 784)
}()

// sweepCase runs Sweep on guarded copies (z at offset off, the others at
// other offsets) and checks the trajectory, canaries and read-only inputs.
func sweepCase(t *testing.T, what string, z, h, c, invH []float32, d int, lo, hi float32, off int) {
	t.Helper()
	sweepGuarded(t, what, z, h, c, invH, d, lo, hi, off, func(gz, gh, gc, gi []float32) {
		Sweep(gz, gh, gc, gi, d, lo, hi)
	})
}

// sweepGuarded runs a sweep (run, on guarded copies: z at offset off, the
// others at other offsets) and checks the trajectory, canaries and
// read-only inputs.
func sweepGuarded(t *testing.T, what string, z, h, c, invH []float32, d int, lo, hi float32, off int, run func(gz, gh, gc, gi []float32)) {
	t.Helper()
	gz, gh, gc, gi := guardedCopy(z, off), guardedCopy(h, (off+3)%8), guardedCopy(c, 7-off), guardedCopy(invH, (off+5)%8)
	run(gz.s(), gh.s(), gc.s(), gi.s())
	checkSweep(t, what, z, gz.s(), h, c, invH, d, lo, hi)
	gz.check(t, what+" z")
	gh.check(t, what+" h")
	gc.check(t, what+" c")
	gi.check(t, what+" invH")
	require.True(t, sameBits(h, gh.s()), "%s: the sweep changed h", what)
	require.True(t, sameBits(c, gc.s()), "%s: the sweep changed c", what)
	require.True(t, sameBits(invH, gi.s()), "%s: the sweep changed invH", what)
}

// sameBits: a and b hold the same float32 bit patterns (NaN included).
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

func TestSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	inf := float32(math.Inf(1))
	bounds := [][2]float32{{-inf, inf}, {0, inf}, {0, 1}, {-0.1, 0.1}, {float32(math.Copysign(0, -1)), 0}, {0.25, 0.25}}
	forEachTier(t, "sweep", func(t *testing.T) {
		i := 0
		for _, d := range sweepDims {
			for _, b := range bounds {
				if d == 784 && i%2 == 1 {
					i++
					continue // the big size on half of the bounds
				}
				// Alternate a contracting problem and one whose iterates grow.
				scale := 1.0
				if i%3 == 2 {
					scale = 4
				}
				z, h, c, invH := sweepProblem(rng, d, 2, scale)
				sweepCase(t, fmt.Sprintf("Sweep d=%d lo=%v hi=%v", d, b[0], b[1]), z, h, c, invH, d, b[0], b[1], i%8)
				i++
			}
		}
	})
}

// TestSweepClampSemantics: with h = 0 and c = −0, g = (±0) − (−0) = +0 in
// any summation order, so v = z − (+0)·invH is z itself, ±0 included, and
// the sweep must give Clamp's result bit for bit. With a NaN or an infinity
// in z, 0·z is NaN and every step's v is NaN.
func TestSweepClampSemantics(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	negZero := float32(math.Copysign(0, -1))
	forEachTier(t, "sweep", func(t *testing.T) {
		for _, b := range clampBounds {
			for _, d := range []int{1, 7, 8, 9, 10, 15, 16, 17, 24, 31, 64, 65, 70} {
				h := make([]float32, d*d)
				c, invH := make([]float32, d), make([]float32, d)
				for i := range c {
					c[i] = negZero
					invH[i] = float32(0.5 + rng.Float64())
				}
				z := clampValues(rng, d, b[0], b[1])
				finite := slices.Clone(z)
				for i, v := range finite {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						finite[i] = negZero
					}
				}
				// (With lo = +Inf or hi = −Inf the first step writes an
				// infinity, and 0·Inf makes the later steps NaN: only the
				// trajectory check below applies.)
				finiteOut := !math.IsInf(float64(b[0]), 1) && !math.IsInf(float64(b[1]), -1)
				got := slices.Clone(finite)
				Sweep(got, h, c, invH, d, b[0], b[1])
				want := slices.Clone(finite)
				clampGeneric(want, b[0], b[1])
				checkSweep(t, "Sweep h=0", finite, got, h, c, invH, d, b[0], b[1])
				for i := range want {
					if finiteOut && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("Sweep h=0 (lo=%v, hi=%v) d=%d: z[%d]=%#x → %#x, Clamp gives %#x", b[0], b[1], d, i,
							math.Float32bits(finite[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
					}
				}
				// With the specials: every v is NaN (when z has one).
				sweepCase(t, fmt.Sprintf("Sweep h=0 specials d=%d lo=%v hi=%v", d, b[0], b[1]), z, h, c, invH, d, b[0], b[1], d%8)
			}
		}
	})
}

// TestSweepSpecialsPlaced puts one infinity or NaN in h, or in z, at each
// kind of place a blocked kernel treats apart (see sweep8AVX2): left of the
// diagonal within a row's block of eight (the products summed in scalar,
// masked out of the vectors), the diagonal, right of it, the block before
// a row's, and the columns that the last, shifted chunk shares with the
// chunk before it. A special masked out of a vector must not turn a product
// into NaN (0·Inf) there, and must still count where it is summed.
func TestSweepSpecialsPlaced(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	forEachTier(t, "sweep", func(t *testing.T) {
		n := 0
		for _, d := range []int{2, 8, 9, 10, 15, 16, 17, 23, 24, 31, 33, 64, 70} {
			type place struct{ i, p int }
			var places []place
			for _, i := range []int{0, 1, 7, 8, 9, d / 2, d - 9, d - 2, d - 1} {
				if i < 0 || i >= d {
					continue
				}
				for _, p := range []int{i - 8, i - 2, i - 1, i, i + 1, i + 7, d - 8, d - 9, (d &^ 7) - 1, d - 1} {
					if p >= 0 && p < d {
						places = append(places, place{i, p})
					}
				}
			}
			for _, pl := range places {
				for _, v := range []float32{inf, -inf, nan} {
					// Contracting, so that one special does not make every
					// later value NaN at once; bounds finite or not.
					z, h, c, invH := sweepProblem(rng, d, float64(2*d), 1)
					lo, hi := float32(-1), float32(1)
					if n%2 == 1 {
						lo, hi = -inf, inf
					}
					hs := slices.Clone(h)
					hs[pl.i*d+pl.p] = v
					sweepCase(t, fmt.Sprintf("Sweep d=%d h[%d][%d]=%v lo=%v", d, pl.i, pl.p, v, lo), z, hs, c, invH, d, lo, hi, n%8)
					zs := slices.Clone(z)
					zs[pl.p] = v
					sweepCase(t, fmt.Sprintf("Sweep d=%d z[%d]=%v lo=%v", d, pl.p, v, lo), zs, h, c, invH, d, lo, hi, (n+3)%8)
					n++
				}
			}
		}
	})
}

// TestSweepIsUnitUpdates: on the generic tier a sweep is bit for bit the
// sequence of single-problem UnitUpdate calls it replaces (the SIMD tiers
// may sum each row in another order than their Dot, so they are held to
// the trajectory bound instead).
func TestSweepIsUnitUpdates(t *testing.T) {
	saved := CurrentTier()
	defer func() { require.NoError(t, SetTier(saved)) }()
	require.NoError(t, SetTier(Generic))
	rng := rand.New(rand.NewPCG(35, 36))
	for _, d := range []int{1, 10, 64, 65} {
		z, h, c, invH := sweepProblem(rng, d, 2, 1)
		got, want := slices.Clone(z), slices.Clone(z)
		Sweep(got, h, c, invH, d, 0, 1)
		for i := 0; i < d; i++ {
			UnitUpdate(want, h[i*d:i*d+d], c[i:i+1], i, d, 1, invH[i], 0, 1)
		}
		for i := range got {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "d=%d z[%d]", d, i)
		}
	}
}

func TestSweepArgs(t *testing.T) {
	z, h := make([]float32, 4), make([]float32, 16)
	require.NotPanics(t, func() { Sweep(z, h, z, z, 4, 0, 1) })
	require.NotPanics(t, func() { Sweep(nil, nil, nil, nil, 0, 0, 1) })
	require.Panics(t, func() { Sweep(z, h[:15], z, z, 4, 0, 1) })
	require.Panics(t, func() { Sweep(z[:3], h, z, z, 4, 0, 1) })
	require.Panics(t, func() { Sweep(z, h, z[:3], z, 4, 0, 1) })
	require.Panics(t, func() { Sweep(z, h, z, z[:3], 4, 0, 1) })
	require.Panics(t, func() { Sweep(z, h, z, z, -1, 0, 1) })
	require.Panics(t, func() { Sweep(z, h, z, z, 4, 1, 0) })
	require.Panics(t, func() { Sweep(z, h, z, z, 4, float32(math.NaN()), 1) })
	// d·d overflowing int must be caught, not wrap around.
	require.Panics(t, func() { Sweep(z, h, z, z, 1<<(bits.UintSize/2), 0, 1) })
}

// TestCheckMat pins checkMat's overflow-safe length test.
func TestCheckMat(t *testing.T) {
	a := make([]float32, 12)
	require.NotPanics(t, func() { checkMat("t", a, 3, 4) })
	require.NotPanics(t, func() { checkMat("t", a, 0, math.MaxInt) })
	require.NotPanics(t, func() { checkMat("t", a, math.MaxInt, 0) })
	require.NotPanics(t, func() { checkMat("t", nil, 0, 0) })
	require.Panics(t, func() { checkMat("t", a, 13, 1) })
	require.Panics(t, func() { checkMat("t", a, 2, 7) })
	require.Panics(t, func() { checkMat("t", a, -1, 0) })
	require.Panics(t, func() { checkMat("t", a, 0, -1) })
	half := 1 << (bits.UintSize / 2)
	require.Panics(t, func() { checkMat("t", a, half, half) }) // wraps to 0
	require.Panics(t, func() { checkMat("t", a, half/2+1, 2*half) })
	require.Panics(t, func() { checkMat("t", a, math.MaxInt, 2) })
}

func FuzzSweep(f *testing.F) {
	addSeeds(f, 64, 10, 1, 7, 8, 9, 16, 17, 24, 33, 65, 70, 130)
	for i, d := range []uint32{64, 10, 65, 784 % 140} {
		f.Add(uint8(i), d-1, uint8(i), uint8(0x20|i), uint64(i), []byte(nil)) // contracting
	}
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		d := 1 + int(shape%140)
		o := int(off % 8)
		s := newFuzzSrc(mode, seed, raw)
		lo, hi := s.bounds()
		z, h, c := s.vec(d), s.vec(d*d), s.vec(d)
		invH := s.vec(d)
		for i, v := range invH {
			if math.IsInf(float64(v), 0) || v != v {
				invH[i] = 0.5 // 1/H_ii of a positive definite H is finite
			}
		}
		if mode&0x20 != 0 { // a contracting problem: the trajectory stays finite
			for i := 0; i < d; i++ {
				h[i*d+i] = float32(2 * d)
				invH[i] = 1 / h[i*d+i]
			}
		}
		sweepCase(t, fmt.Sprintf("Sweep d=%d lo=%v hi=%v", d, lo, hi), z, h, c, invH, d, lo, hi, o)
	})
}

// BenchmarkSweep: one BCD sweep of a layer for a single problem (d² FMAs)
// on every tier, for layers of 4 and 7 units (no row fills a vector), 16 to
// 128 units, the model's output layer (10) and the input width; for the
// model's sizes (64, 10, 784) also as the d single-problem UnitUpdate calls
// it replaces.
//
//	go test ./asm -run XXX -bench Sweep
func BenchmarkSweep(b *testing.B) {
	for _, d := range []int{4, 7, 16, 32, 64, 128, 10, 784} {
		rng := rand.New(rand.NewPCG(uint64(d), 37))
		z, h, c, invH := sweepProblem(rng, d, 2, 1)
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			benchTiers(b, 2*float64(d*d), func(b *testing.B) {
				b.SetBytes(int64(4 * d * d))
				for b.Loop() {
					Sweep(z, h, c, invH, d, 0, float32(math.Inf(1)))
				}
			})
		})
		if d != 64 && d != 10 && d != 784 {
			continue
		}
		// The same sweep as the d single-problem UnitUpdate calls it replaces.
		b.Run(fmt.Sprintf("d=%d/units", d), func(b *testing.B) {
			benchTiers(b, 2*float64(d*d), func(b *testing.B) {
				b.SetBytes(int64(4 * d * d))
				for b.Loop() {
					for i := 0; i < d; i++ {
						UnitUpdate(z, h[i*d:i*d+d], c[i:i+1], i, d, 1, invH[i], 0, float32(math.Inf(1)))
					}
				}
			})
		})
	}
}
