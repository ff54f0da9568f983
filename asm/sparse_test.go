package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// fma32 is float32's fused multiply-add, correctly rounded: the product
// of two float32 is exact in float64 and the float64 sum is made
// round-to-odd (the sticky bit of TwoSum's error), which then rounds to
// float32 (24 ≤ 53 − 2 bits) as the exact sum would.
func fma32(a, b, c float32) float32 {
	p, q := float64(a)*float64(b), float64(c)
	s := p + q
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	bv := s - p
	e := (p - (s - bv)) + (q - bv) // s + e = p + q exactly
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Inf(int(math.Copysign(1, e))))
	}
	return float32(s)
}

func TestFMA32(t *testing.T) {
	// (1 + 2⁻²³) + 2⁻²⁴ − 2⁻⁷⁰ lies just below the float32 tie 1 + 2⁻²³ +
	// 2⁻²⁴: the correct rounding is 1 + 2⁻²³; the float64 sum rounds onto
	// the tie, which float32 rounds to even, 1 + 2⁻²².
	a, b, c := float32(1+0x1p-23), float32(0x1p-24-0x1p-47), float32(1+0x1p-23)
	require.Equal(t, float32(1+0x1p-22), float32(float64(a)*float64(b)+float64(c)), "the case needs double rounding")
	require.Equal(t, c, fma32(a, b, c))
	require.Equal(t, float32(1+0x1p-22), fma32(a, -b, 1+0x1p-22))
	require.Equal(t, float32(7), fma32(2, 3, 1))
	require.True(t, math.IsNaN(float64(fma32(float32(math.Inf(1)), 0, 1))))
}

// sparseLaneModel is the SIMD tiers' SparseAxpy (see its doc) written out
// with fma32: every element one chain of fused steps over k in order. The
// avx2, avx512 and neon tiers must give its bits exactly (NaN payloads
// aside).
func sparseLaneModel(y, w []float32, d int, idx []int32, val []float32) []float32 {
	out := slices.Clone(y[:d])
	for k, r := range idx {
		for e := range out {
			out[e] = fma32(val[k], w[int(r)*d+e], out[e])
		}
	}
	return out
}

// checkSparseAxpy runs SparseAxpy on guarded copies (y at off, w at 7−off,
// val at (off+3) mod 8) and checks every element against the reference
// within the rounding bound of its chain (checkSum), on the SIMD tiers
// also bit for bit against the lane model, and the canaries and that w,
// idx and val are unchanged.
func checkSparseAxpy(t *testing.T, y, w []float32, d int, idx []int32, val []float32, off int) {
	t.Helper()
	gy, gw, gv := guardedCopy(y, off), guardedCopy(w, 7-off), guardedCopy(val, (off+3)%8)
	gi := slices.Clone(idx)
	SparseAxpy(gy.s(), gw.s(), d, gi, gv.s())
	want := slices.Clone(y)
	sparseAxpyGeneric(want, w, d, idx, val)
	got := gy.s()
	for e := 0; e < d; e++ {
		var r sumRef
		r.term(float64(y[e]))
		for k, row := range idx {
			r.prod(val[k], w[int(row)*d+e])
		}
		checkSum(t, got[e], want[e], &r, "SparseAxpy d=%d k=%d off=%d e=%d", d, len(idx), off, e)
	}
	if CurrentTier() != Generic {
		model := sparseLaneModel(y, w, d, idx, val)
		for e := 0; e < d; e++ {
			g, m := got[e], model[e]
			if math.Float32bits(g) != math.Float32bits(m) && !(g != g && m != m) {
				t.Fatalf("SparseAxpy d=%d k=%d off=%d e=%d: got %v (%#x), the chain of fused steps gives %v (%#x)",
					d, len(idx), off, e, g, math.Float32bits(g), m, math.Float32bits(m))
			}
		}
	}
	require.True(t, sameBits(y[d:], got[d:]), "SparseAxpy changed y past d")
	require.True(t, sameBits(w, gw.s()), "SparseAxpy changed w")
	require.True(t, sameBits(val, gv.s()), "SparseAxpy changed val")
	require.Equal(t, idx, gi, "SparseAxpy changed idx")
	gy.check(t, "SparseAxpy y")
	gw.check(t, "SparseAxpy w")
	gv.check(t, "SparseAxpy val")
}

// sparseCase draws a problem: w with rows rows (≥ 1) of d columns, k
// indices into it (repeats likely when rows is small), y with extra
// elements past d when extra.
func sparseCase(t *testing.T, rng *rand.Rand, d, k, rows int, extra bool, off int) {
	t.Helper()
	idx := make([]int32, k)
	for i := range idx {
		idx[i] = int32(rng.IntN(rows))
	}
	ny := d
	if extra {
		ny += 1 + rng.IntN(9)
	}
	checkSparseAxpy(t, randVec(rng, ny), randVec(rng, rows*d), d, idx, randVec(rng, k), off)
}

// sparseKs: every k to 150 for the model's width and the widths around a
// vector, a spread of them elsewhere.
func sparseKs(d, i int) []int {
	if d == 64 || d == 1 || d == 7 || d == 8 || d == 9 || d == 63 || d == 65 {
		ks := make([]int, 151)
		for k := range ks {
			ks[k] = k
		}
		return ks
	}
	return []int{0, 1, 2, 3 + i%5, 17 + i%13, 64 + i%37, 150}
}

func TestSparseAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	ds := []int{256, 1024}
	for d := 1; d <= 70; d++ {
		ds = append(ds, d)
	}
	forEachTier(t, "sparseAxpy", func(t *testing.T) {
		i := 0
		for _, d := range ds {
			for _, k := range sparseKs(d, i) {
				if d >= 256 && k > 64 && testing.Short() {
					continue
				}
				rows := []int{1, 3, 112, 200}[i%4]
				sparseCase(t, rng, d, k, rows, i%3 == 0, i%8)
				i++
			}
		}
	})
}

// TestSparseAxpySpecials: NaN, infinities (Inf·0 is NaN, Inf − Inf too),
// overflow, subnormals and signed zeros in w, val and y propagate as the
// reference's do (checkSum's rules).
func TestSparseAxpySpecials(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	forEachTier(t, "sparseAxpy", func(t *testing.T) {
		for i := 0; i < 200; i++ {
			d, k, rows := 1+rng.IntN(70), rng.IntN(20), 1+rng.IntN(6)
			s := newFuzzSrc(2, uint64(i), nil)
			if i%2 == 1 {
				s.mode = 1
			}
			idx := make([]int32, k)
			for j := range idx {
				idx[j] = int32(rng.IntN(rows))
			}
			checkSparseAxpy(t, s.vec(d), s.vec(rows*d), d, idx, s.vec(k), i%8)
		}
	})
}

// TestSparseAxpyArgs: wrong lengths and out-of-range indices panic with a
// message naming them; empty problems leave y alone.
func TestSparseAxpyArgs(t *testing.T) {
	forEachTier(t, "sparseAxpyArgs", func(t *testing.T) {
		y, w := make([]float32, 4), make([]float32, 12) // 3 rows of 4
		val := []float32{1, 2}
		require.PanicsWithValue(t, "asm.SparseAxpy: idx[1]=3 out of range [0, 3) (len(w)=12, d=4)",
			func() { SparseAxpy(y, w, 4, []int32{0, 3}, val) })
		require.PanicsWithValue(t, "asm.SparseAxpy: idx[0]=-1 out of range [0, 3) (len(w)=12, d=4)",
			func() { SparseAxpy(y, w, 4, []int32{-1, 0}, val) })
		require.PanicsWithValue(t, "asm.SparseAxpy: idx[1]=2 out of range [0, 2) (len(w)=11, d=4)",
			func() { SparseAxpy(y, w[:11], 4, []int32{0, 2}, val) })
		require.PanicsWithValue(t, "asm.SparseAxpy: d=4 len(y)=4 len(idx)=1 len(val)=2",
			func() { SparseAxpy(y, w, 4, []int32{0}, val) })
		require.PanicsWithValue(t, "asm.SparseAxpy: d=5 len(y)=4 len(idx)=2 len(val)=2",
			func() { SparseAxpy(y, w, 5, []int32{0, 1}, val) })
		require.Panics(t, func() { SparseAxpy(y, w, -1, nil, nil) })
		y[0] = 1
		SparseAxpy(y, nil, 4, nil, nil)
		SparseAxpy(y, nil, 0, []int32{5}, []float32{1})
		require.Equal(t, []float32{1, 0, 0, 0}, y)
		SparseAxpy(y, w, 4, []int32{2, 2}, val)
		require.Equal(t, []float32{1, 0, 0, 0}, y)
	})
}

func FuzzSparseAxpy(f *testing.F) {
	addSeeds(f, 0, 1, 7+151*8, 64+151*60, 9+151*150, 65+151*3, 200+151*20)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		d := 1 + int(shape%300)
		k := int(shape / 300 % 151)
		rows := 1 + int(shape/300/151%120)
		s := newFuzzSrc(mode, seed, raw)
		idx := make([]int32, k)
		for i := range idx {
			idx[i] = int32(s.rng.IntN(rows))
		}
		w := s.vec(rows * d)
		checkSparseAxpy(t, s.vec(d), w, d, idx, s.vec(k), int(off%8))
	})
}

// BenchmarkSparseAxpy: the input part's sparse product, k nonzero pixels
// of a 112-column chunk of W_0ᵀ (112×d), GFLOP/s counting 2·d·k.
func BenchmarkSparseAxpy(b *testing.B) {
	for _, d := range []int{64, 256} {
		for _, k := range []int{8, 30, 112} {
			rng := rand.New(rand.NewPCG(uint64(d), uint64(k)))
			w, y := benchVec(112*d), benchVec(d)
			idx := make([]int32, k)
			for i := range idx {
				idx[i] = int32(rng.IntN(112))
			}
			slices.Sort(idx)
			val := benchVec(k)
			b.Run(fmt.Sprintf("d=%d/k=%d", d, k), func(b *testing.B) {
				benchTiers(b, float64(2*d*k), func(b *testing.B) {
					for b.Loop() {
						SparseAxpy(y, w, d, idx, val)
					}
				})
			})
		}
	}
}

// checkNonzeros runs Nonzeros on a guarded copy of x (at off) with index
// and value buffers of len(x)+extra elements (at 7−off and (off+3) mod 8)
// and checks the count, positions and value bits against the reference,
// that nothing past len(x) of the buffers nor around them changed, and x.
func checkNonzeros(t *testing.T, x []float32, extra, off int) {
	t.Helper()
	gx := guardedCopy(x, off)
	m := len(x) + extra
	gv := newGuarded[float32](m, (off+3)%8)
	const sentinel = 0x5a5a5a5a
	ibuf := make([]int32, 7-off+m+guardLen)
	for i := range ibuf {
		ibuf[i] = sentinel
	}
	gi := ibuf[7-off : 7-off+m : 7-off+m]
	n := Nonzeros(gi, gv.s(), gx.s())
	wi, wv := make([]int32, len(x)), make([]float32, len(x))
	want := nonzerosGeneric(wi, wv, x)
	require.Equal(t, want, n, "Nonzeros len=%d off=%d: count", len(x), off)
	require.Equal(t, wi[:n], gi[:n], "Nonzeros len=%d off=%d: positions", len(x), off)
	require.True(t, sameBits(wv[:n], gv.s()[:n]), "Nonzeros len=%d off=%d: values %v, want %v", len(x), off, gv.s()[:n], wv[:n])
	for i, v := range ibuf {
		if (i < 7-off || i >= 7-off+len(x)) && v != sentinel {
			t.Fatalf("Nonzeros len=%d extra=%d off=%d: idx buffer element %d (slice at %d) overwritten", len(x), extra, off, i, 7-off)
		}
	}
	for i, v := range gv.s()[len(x):] {
		if math.Float32bits(v) != canary {
			t.Fatalf("Nonzeros len=%d extra=%d off=%d: val[%d] past len(x) overwritten", len(x), extra, off, len(x)+i)
		}
	}
	gv.check(t, "Nonzeros val")
	gx.check(t, "Nonzeros x")
	require.True(t, sameBits(x, gx.s()), "Nonzeros changed x")
}

// nonzeroVec draws n values, a share `dense` of them nonzero (specials
// among them when specials), the rest ±0.
func nonzeroVec(rng *rand.Rand, n int, dense float64, specials bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch {
		case rng.Float64() >= dense:
			if rng.IntN(2) == 0 {
				x[i] = float32(math.Copysign(0, -1))
			}
		case specials && rng.IntN(3) == 0:
			x[i] = fuzzSpecials[rng.IntN(len(fuzzSpecials))]
		default:
			x[i] = float32(rng.Float64()*2 - 1)
		}
	}
	return x
}

func TestNonzeros(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	forEachTier(t, "nonzeros", func(t *testing.T) {
		i := 0
		for _, n := range testLengths {
			for _, dense := range []float64{0, 0.1, 0.5, 0.9, 1} {
				checkNonzeros(t, nonzeroVec(rng, n, dense, i%2 == 1), i%3*5, i%8)
				i++
			}
		}
		require.Zero(t, Nonzeros(nil, nil, nil))
		require.PanicsWithValue(t, "asm.Nonzeros: len(idx)=2 len(val)=3, need len(x)=3 (at most 2147483647)",
			func() { Nonzeros(make([]int32, 2), make([]float32, 3), make([]float32, 3)) })
		require.Panics(t, func() { Nonzeros(make([]int32, 3), make([]float32, 2), make([]float32, 3)) })
	})
}

func FuzzNonzeros(f *testing.F) {
	addSeeds(f, 0, 1, 7, 8, 9, 63, 64, 112, 784, 1000)
	f.Fuzz(func(t *testing.T, sel uint8, shape uint32, off uint8, mode uint8, seed uint64, raw []byte) {
		defer fuzzTier(t, sel)()
		n := int(shape % 1100)
		s := newFuzzSrc(mode, seed, raw)
		x := s.vec(n)
		for i := range x { // zeros in runs, as in images
			if s.rng.IntN(4) != 0 && len(s.raw) == 0 {
				x[i] = 0
			}
		}
		checkNonzeros(t, x, int(shape/1100%9), int(off%8))
	})
}

// BenchmarkNonzeros: the scan of one 784-pixel image for its nonzero
// pixels, on the fixture-like density (a fifth nonzero) and a dense image.
func BenchmarkNonzeros(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dense := range []float64{0.2, 1} {
		x := nonzeroVec(rng, 784, dense, false)
		idx, val := make([]int32, 784), make([]float32, 784)
		b.Run(fmt.Sprintf("nonzero=%v", dense), func(b *testing.B) {
			benchTiers(b, 0, func(b *testing.B) {
				b.SetBytes(4 * 784)
				for b.Loop() {
					Nonzeros(idx, val, x)
				}
			})
		})
	}
}
