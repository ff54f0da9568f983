//go:build !purego

package asm

// Differential tests of the NEON tier against float64 sums (within a proven
// rounding bound) and against clampGeneric (bit for bit), with canaries
// around every output and misaligned starting offsets; on Linux,
// neon_linux_arm64_test.go also places inputs against inaccessible pages so
// that a read or write past either end faults. They complement the
// architecture-independent tests (kernels_test.go) that run every tier.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/require"
)

// withNEON runs f with the NEON tier in use and restores the previous tier.
func withNEON(t *testing.T, f func()) {
	t.Helper()
	prev := CurrentTier()
	require.NoError(t, SetTier(NEON))
	defer func() { require.NoError(t, SetTier(prev)) }()
	f()
}

const neonEps = 1.0 / (1 << 24) // unit roundoff of float32

// sizes are the lengths the kernels' loops and tails change at, plus the
// model's.
var neonSizes = func() []int {
	s := []int{}
	for n := 1; n <= 40; n++ {
		s = append(s, n)
	}
	return append(s, 47, 48, 63, 64, 65, 95, 127, 128, 129, 255, 257, 784)
}()

// neonCanaryBits are the values around every output: a signalling NaN no
// kernel produces and two finite values far outside every clamp range used,
// so that even a clamp that wrote one element too many would change one.
var neonCanaryBits = [3]uint32{0x7fa5a5a5, 0x7149f2ca, 0xf149f2ca} // sNaN, ±1e30

// guarded returns a slice of n elements at offset off inside a buffer with
// canaries before and after; check verifies the canaries.
func neonGuarded(rng *rand.Rand, n, off int) (s []float32, check func(t *testing.T, what string)) {
	buf := make([]float32, off+n+8)
	for i := range buf {
		buf[i] = math.Float32frombits(neonCanaryBits[i%3])
	}
	s = buf[off : off+n : off+n]
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s, func(t *testing.T, what string) {
		t.Helper()
		for i := range buf {
			if i >= off && i < off+n {
				continue
			}
			if math.Float32bits(buf[i]) != neonCanaryBits[i%3] {
				t.Fatalf("%s: wrote outside its output: buffer index %d (output is [%d,%d))", what, i, off, off+n)
			}
		}
	}
}

func neonDot64(x, y []float32) (s, abs float64) {
	for i := range x {
		p := float64(x[i]) * float64(y[i])
		s += p
		abs += math.Abs(p)
	}
	return s, abs
}

// within reports whether got is within the rounding bound of a float32 sum
// of n products (plus an initial value) computed in any order, with or
// without fused multiply-adds: |error| ≤ γ_{n+1}·Σ|terms|, γ_m = mε/(1−mε).
// The bound uses n+2 to leave room for the float64 reference's own error.
func neonWithin(got float32, exact, absSum float64, n int) bool {
	m := float64(n + 2)
	bound := m * neonEps / (1 - m*neonEps) * absSum
	return math.Abs(float64(got)-exact) <= bound
}

func TestNEONSelected(t *testing.T) {
	require.Contains(t, Available(), NEON)
	require.Equal(t, NEON, Available()[0], "NEON must be the best arm64 tier")
	if os.Getenv(EnvVar) == "" {
		require.Equal(t, NEON, CurrentTier(), "default tier on arm64")
	}
	if runtime.GOOS == "linux" {
		// The tier does not depend on it, but the claim in tiers_arm64.go
		// that cpuid reports ASIMD (from HWCAP, also under qemu) is checked.
		require.True(t, cpuid.CPU.Supports(cpuid.ASIMD), "cpuid reports no ASIMD: %v", cpuid.CPU.FeatureSet())
	}
}

func TestNEONDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	withNEON(t, func() {
		for _, n := range neonSizes {
			for off := 0; off < 4; off++ {
				x, cx := neonGuarded(rng, n, off)
				y, cy := neonGuarded(rng, n, 3-off)
				got := Dot(x, y)
				exact, abs := neonDot64(x, y)
				if !neonWithin(got, exact, abs, n) {
					t.Fatalf("Dot n=%d off=%d: got %v, exact %v (Σ|xy|=%v)", n, off, got, exact, abs)
				}
				cx(t, "Dot")
				cy(t, "Dot")
			}
		}
	})
}

func TestNEONAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	withNEON(t, func() {
		for _, n := range neonSizes {
			for off := 0; off < 4; off++ {
				x, _ := neonGuarded(rng, n, 3-off)
				y, cy := neonGuarded(rng, n, off)
				y0 := append([]float32(nil), y...)
				alpha := float32(rng.NormFloat64())
				Axpy(alpha, x, y)
				for i := range y {
					exact := float64(y0[i]) + float64(alpha)*float64(x[i])
					abs := math.Abs(float64(y0[i])) + math.Abs(float64(alpha)*float64(x[i]))
					if !neonWithin(y[i], exact, abs, 1) {
						t.Fatalf("Axpy n=%d i=%d: got %v, exact %v", n, i, y[i], exact)
					}
				}
				cy(t, "Axpy")
			}
		}
	})
}

func TestNEONMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ms := []int{1, 2, 3, 4, 5, 7, 8, 9, 10, 13, 64}
	ns := []int{1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 17, 31, 33, 64, 784}
	withNEON(t, func() {
		for _, m := range ms {
			for _, n := range ns {
				for _, acc := range []bool{false, true} {
					a, _ := neonGuarded(rng, m*n, 1)
					x, _ := neonGuarded(rng, n, 2)
					y, cy := neonGuarded(rng, m, 3)
					y0 := append([]float32(nil), y...)
					MatVec(y, a, m, n, x, acc)
					for i := 0; i < m; i++ {
						exact, abs := neonDot64(a[i*n:i*n+n], x)
						if acc {
							exact += float64(y0[i])
							abs += math.Abs(float64(y0[i]))
						}
						if !neonWithin(y[i], exact, abs, n+1) {
							t.Fatalf("MatVec %d×%d acc=%v row %d: got %v, exact %v", m, n, acc, i, y[i], exact)
						}
					}
					cy(t, fmt.Sprintf("MatVec %d×%d", m, n))
				}
			}
		}
	})
}

func TestNEONMatTVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ms := []int{1, 2, 3, 4, 5, 10, 64}
	ns := []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 19, 20, 21, 33, 64, 784}
	withNEON(t, func() {
		for _, m := range ms {
			for _, n := range ns {
				for _, acc := range []bool{false, true} {
					a, _ := neonGuarded(rng, m*n, 1)
					x, _ := neonGuarded(rng, m, 2)
					y, cy := neonGuarded(rng, n, 3)
					y0 := append([]float32(nil), y...)
					MatTVec(y, a, m, n, x, acc)
					for j := 0; j < n; j++ {
						var exact, abs float64
						if acc {
							exact, abs = float64(y0[j]), math.Abs(float64(y0[j]))
						}
						for i := 0; i < m; i++ {
							p := float64(x[i]) * float64(a[i*n+j])
							exact += p
							abs += math.Abs(p)
						}
						if !neonWithin(y[j], exact, abs, m+1) {
							t.Fatalf("MatTVec %d×%d acc=%v col %d: got %v, exact %v", m, n, acc, j, y[j], exact)
						}
					}
					cy(t, fmt.Sprintf("MatTVec %d×%d", m, n))
				}
			}
		}
	})
}

var gemmDims = []int{1, 2, 3, 4, 5, 7, 8, 10, 16, 17, 20, 33, 64}

func TestNEONGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	withNEON(t, func() {
		for _, m := range gemmDims {
			for _, k := range gemmDims {
				for _, n := range gemmDims {
					acc := (m+k+n)%2 == 0
					a, _ := neonGuarded(rng, m*k, 1)
					b, _ := neonGuarded(rng, k*n, 2)
					c, cc := neonGuarded(rng, m*n, 3)
					c0 := append([]float32(nil), c...)
					Gemm(c, a, b, m, k, n, acc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var exact, abs float64
							if acc {
								exact, abs = float64(c0[i*n+j]), math.Abs(float64(c0[i*n+j]))
							}
							for p := 0; p < k; p++ {
								v := float64(a[i*k+p]) * float64(b[p*n+j])
								exact += v
								abs += math.Abs(v)
							}
							if !neonWithin(c[i*n+j], exact, abs, k+1) {
								t.Fatalf("Gemm %d×%d·%d×%d acc=%v C[%d][%d]: got %v, exact %v", m, k, k, n, acc, i, j, c[i*n+j], exact)
							}
						}
					}
					cc(t, fmt.Sprintf("Gemm %d,%d,%d", m, k, n))
				}
			}
		}
	})
}

func TestNEONGemmNT(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ks := append(append([]int(nil), gemmDims...), 6, 9, 11, 784)
	withNEON(t, func() {
		for _, m := range gemmDims {
			for _, k := range ks {
				for _, n := range gemmDims {
					acc := (m+k+n)%2 == 1
					a, _ := neonGuarded(rng, m*k, 1)
					b, _ := neonGuarded(rng, n*k, 2)
					c, cc := neonGuarded(rng, m*n, 3)
					c0 := append([]float32(nil), c...)
					GemmNT(c, a, b, m, k, n, acc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							exact, abs := neonDot64(a[i*k:i*k+k], b[j*k:j*k+k])
							if acc {
								exact += float64(c0[i*n+j])
								abs += math.Abs(float64(c0[i*n+j]))
							}
							if !neonWithin(c[i*n+j], exact, abs, k+1) {
								t.Fatalf("GemmNT %d×%d·(%d×%d)ᵀ acc=%v C[%d][%d]: got %v, exact %v", m, k, n, k, acc, i, j, c[i*n+j], exact)
							}
						}
					}
					cc(t, fmt.Sprintf("GemmNT %d,%d,%d", m, k, n))
				}
			}
		}
	})
}

func TestNEONUnitUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	bounds := [][2]float32{
		{float32(math.Inf(-1)), float32(math.Inf(1))},
		{0, float32(math.Inf(1))},
		{0, 1},
		{-0.25, 0.25},
	}
	withNEON(t, func() {
		for _, k := range []int{1, 2, 3, 4, 5, 10, 17, 64} {
			for _, tt := range []int{2, 3, 4, 5, 7, 8, 15, 16, 17, 20, 21, 31, 32, 33, 63, 64} {
				for _, row := range []int{0, k / 2, k - 1} {
					lh := bounds[(k+tt+row)%len(bounds)]
					lo, hi := lh[0], lh[1]
					zs, cz := neonGuarded(rng, k*tt, 1)
					h, _ := neonGuarded(rng, k, 2)
					ci, _ := neonGuarded(rng, tt, 3)
					inv := float32(0.5 + rng.Float64())
					z0 := append([]float32(nil), zs...)
					UnitUpdate(zs, h, ci, row, k, tt, inv, lo, hi)
					for j := 0; j < tt; j++ {
						var g, abs float64
						for p := 0; p < k; p++ {
							v := float64(h[p]) * float64(z0[p*tt+j])
							g += v
							abs += math.Abs(v)
						}
						g -= float64(ci[j])
						abs += math.Abs(float64(ci[j]))
						z := float64(z0[row*tt+j])
						want := math.Min(math.Max(z-g*float64(inv), float64(lo)), float64(hi))
						// Error of g (k products and one subtraction) scaled
						// by invHii, plus two roundings of z − g·invHii; the
						// clamp is 1-Lipschitz.
						m := float64(k + 4)
						bound := m * neonEps / (1 - m*neonEps) * (float64(inv)*abs + math.Abs(z))
						got := float64(zs[row*tt+j])
						if math.Abs(got-want) > bound {
							t.Fatalf("UnitUpdate k=%d t=%d row=%d col %d: got %v, want %v (bound %g)", k, tt, row, j, got, want, bound)
						}
						if got < float64(lo) || got > float64(hi) {
							t.Fatalf("UnitUpdate k=%d t=%d row=%d col %d: %v outside [%v,%v]", k, tt, row, j, got, lo, hi)
						}
					}
					for p := 0; p < k; p++ {
						if p == row {
							continue
						}
						for j := 0; j < tt; j++ {
							require.Equal(t, math.Float32bits(z0[p*tt+j]), math.Float32bits(zs[p*tt+j]), "UnitUpdate changed row %d (updated row %d)", p, row)
						}
					}
					cz(t, fmt.Sprintf("UnitUpdate k=%d t=%d", k, tt))
				}
			}
		}
	})
}

// neonClampSpecials are values whose clamp is easy to get wrong: both zeros, both
// infinities, NaNs of both signs with payloads, subnormals, and values at and
// next to common bounds.
var neonClampSpecials = []float32{
	0, float32(math.Copysign(0, -1)),
	float32(math.Inf(1)), float32(math.Inf(-1)),
	math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000),
	math.Float32frombits(0x7fc12345), math.Float32frombits(0xff812345), // quiet, signalling
	math.Float32frombits(1), math.Float32frombits(0x80000001),
	math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
	1, -1, 0.5, -0.5, 1.0000001, 0.99999994, 2, -2, 1e-30, -1e-30,
}

var neonClampBounds = [][2]float32{
	{float32(math.Inf(-1)), float32(math.Inf(1))},
	{0, float32(math.Inf(1))},
	{float32(math.Copysign(0, -1)), float32(math.Inf(1))},
	{0, 1},
	{float32(math.Copysign(0, -1)), 0},
	{0, 0},
	{float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
	{-1, 1},
	{1, 1},
	{0.5, 2},
	{float32(math.Inf(-1)), 0},
	{float32(math.Inf(-1)), -1},
	{float32(math.Inf(1)), float32(math.Inf(1))},
	{float32(math.Inf(-1)), float32(math.Inf(-1))},
	{math.Float32frombits(1), math.Float32frombits(2)},
}

func TestNEONClampBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	withNEON(t, func() {
		for _, lh := range neonClampBounds {
			for _, n := range neonSizes {
				for off := 0; off < 4; off++ {
					x, cx := neonGuarded(rng, n, off)
					for i := range x {
						if rng.IntN(2) == 0 {
							x[i] = neonClampSpecials[rng.IntN(len(neonClampSpecials))]
						}
					}
					want := append([]float32(nil), x...)
					clampGeneric(want, lh[0], lh[1])
					Clamp(x, lh[0], lh[1])
					for i := range x {
						if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
							t.Fatalf("Clamp [%v,%v] n=%d i=%d: got %#08x, want %#08x", lh[0], lh[1], n, i, math.Float32bits(x[i]), math.Float32bits(want[i]))
						}
					}
					cx(t, "Clamp")
				}
			}
			// Every special value in every position of a 16-, 4- and 1-wide step.
			for _, v := range neonClampSpecials {
				for _, n := range []int{1, 4, 16, 21} {
					x := make([]float32, n)
					for i := range x {
						x[i] = v
					}
					want := append([]float32(nil), x...)
					clampGeneric(want, lh[0], lh[1])
					Clamp(x, lh[0], lh[1])
					for i := range x {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(x[i]), "Clamp(%v) to [%v,%v], n=%d", v, lh[0], lh[1], n)
					}
				}
			}
		}
	})
}

// TestNEONUnitUpdateClampSemantics checks the clamp inside UnitUpdate on
// values that reach it exactly: with h = 0 and ci = 0, g = +0 and the update
// is clamp(z − 0·invHii) = clamp(z), so −0 and the zeros of the bounds must
// come out as clampGeneric has them. A NaN must stay NaN (arithmetic quiets a
// signalling NaN, so its bits may change).
func TestNEONUnitUpdateClampSemantics(t *testing.T) {
	withNEON(t, func() {
		for _, lh := range neonClampBounds {
			for _, tt := range []int{2, 4, 5, 16, 21} {
				for _, v := range neonClampSpecials {
					if math.IsInf(float64(v), 0) {
						continue // 0·Inf in g would be NaN
					}
					k := 3
					zs := make([]float32, k*tt)
					for j := 0; j < tt; j++ {
						zs[1*tt+j] = v
					}
					want := []float32{v}
					clampGeneric(want, lh[0], lh[1])
					UnitUpdate(zs, make([]float32, k), make([]float32, tt), 1, k, tt, 1, lh[0], lh[1])
					for j := 0; j < tt; j++ {
						got := zs[tt+j]
						if v != v {
							require.True(t, got != got, "UnitUpdate of NaN %#08x to [%v,%v], t=%d: got %v", math.Float32bits(v), lh[0], lh[1], tt, got)
							continue
						}
						require.Equal(t, math.Float32bits(want[0]), math.Float32bits(got), "UnitUpdate clamp of %v to [%v,%v], t=%d", v, lh[0], lh[1], tt)
					}
				}
			}
		}
	})
}

// TestNEONLong covers the wrappers' splitting of long inputs into several
// assembly calls.
func TestNEONLong(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	withNEON(t, func() {
		n := 3*neonChunk + 5
		x, _ := neonGuarded(rng, n, 1)
		y, _ := neonGuarded(rng, n, 2)
		got := Dot(x, y)
		exact, abs := neonDot64(x, y)
		require.True(t, neonWithin(got, exact, abs, n), "Dot n=%d: got %v, exact %v", n, got, exact)

		y0 := append([]float32(nil), y...)
		Axpy(0.5, x, y)
		for i := range y {
			e := float64(y0[i]) + 0.5*float64(x[i])
			require.True(t, neonWithin(y[i], e, math.Abs(float64(y0[i]))+math.Abs(0.5*float64(x[i])), 1), "Axpy i=%d", i)
		}

		want := append([]float32(nil), x...)
		clampGeneric(want, -0.5, 0.5)
		Clamp(x, -0.5, 0.5)
		for i := range x {
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(x[i]), "Clamp i=%d", i)
		}

		// 5000×37: several row blocks of rowsPerCall(37) rows.
		m, cols := 5000, 37
		a, _ := neonGuarded(rng, m*cols, 0)
		xv, _ := neonGuarded(rng, cols, 0)
		yv, _ := neonGuarded(rng, m, 0)
		MatVec(yv, a, m, cols, xv, false)
		for i := 0; i < m; i++ {
			e, ab := neonDot64(a[i*cols:i*cols+cols], xv)
			require.True(t, neonWithin(yv[i], e, ab, cols), "MatVec row %d", i)
		}
		xt, _ := neonGuarded(rng, m, 0)
		yt, _ := neonGuarded(rng, cols, 0)
		yt0 := append([]float32(nil), yt...)
		MatTVec(yt, a, m, cols, xt, true)
		for j := 0; j < cols; j++ {
			e, ab := float64(yt0[j]), math.Abs(float64(yt0[j]))
			for i := 0; i < m; i++ {
				p := float64(xt[i]) * float64(a[i*cols+j])
				e += p
				ab += math.Abs(p)
			}
			require.True(t, neonWithin(yt[j], e, ab, m+1), "MatTVec col %d: got %v, exact %v", j, yt[j], e)
		}
	})
}

// BenchmarkNEONHot times the model's hot shapes on the NEON tier and the
// generic reference in one run (sub-benchmarks tier=neon and tier=generic),
// reporting GFLOP/s. Under qemu-aarch64 the numbers only show that the
// benchmarks run: emulated timings say nothing about real hardware.
func BenchmarkNEONHot(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 22))
	randv := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	type bench struct {
		name  string
		flops int // per call
		bytes int // read per call
		run   func()
	}
	const t = 64
	x784, w784 := randv(784), randv(64*784)
	x64, w64, y64 := randv(64), randv(64*64), randv(64)
	zs, h, ci := randv(64*t), randv(64), randv(t)
	bt := randv(64 * t)
	c := randv(64 * t)
	xt := randv(t * 784)
	cases := []bench{
		{"Dot/784", 2 * 784, 8 * 784, func() { Dot(x784, w784[:784]) }},
		{"MatVec/64x784", 2 * 64 * 784, 4 * (64*784 + 784), func() { MatVec(y64, w784, 64, 784, x784, false) }},
		{"MatVec/64x64", 2 * 64 * 64, 4 * (64*64 + 64), func() { MatVec(y64, w64, 64, 64, x64, false) }},
		{"Gemm/64x64x64", 2 * 64 * 64 * t, 4 * (64*64 + 64*t), func() { Gemm(c, w64, bt, 64, 64, t, false) }},
		{"Gemm/10x64x64", 2 * 10 * 64 * t, 4 * (10*64 + 64*t), func() { Gemm(c, w64[:10*64], bt, 10, 64, t, false) }},
		{"GemmNT/64x784x64", 2 * 64 * 784 * t, 4 * (64*784 + t*784), func() { GemmNT(c, w784, xt, 64, 784, t, false) }},
		{"UnitUpdate/k64t64", 2 * 64 * t, 4 * (64*t + 64 + t), func() { UnitUpdate(zs, h, ci, 5, 64, t, 0.5, 0, 1) }},
		{"Clamp/4096", 0, 4 * 4096, func() { Clamp(w784[:4096], -0.5, 0.5) }},
	}
	for _, tier := range []Tier{NEON, Generic} {
		for _, bc := range cases {
			b.Run(fmt.Sprintf("%s/tier=%s", bc.name, tier), func(b *testing.B) {
				prev := CurrentTier()
				require.NoError(b, SetTier(tier))
				defer func() { require.NoError(b, SetTier(prev)) }()
				b.SetBytes(int64(bc.bytes))
				for b.Loop() {
					bc.run()
				}
				if bc.flops > 0 {
					b.ReportMetric(float64(bc.flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				}
			})
		}
	}
}

// TestNEONKernelsEmpty calls the NEON table directly (below the exported
// functions, which filter empty sizes out) with zero lengths and inner
// dimensions: the assembly must neither loop nor touch memory it was not
// given, and must give the reference's results.
func TestNEONKernelsEmpty(t *testing.T) {
	k := neonKernels
	require.Equal(t, float32(0), k.dot(nil, nil))
	k.axpy(2, nil, nil)
	k.clamp(nil, 0, 1)
	for _, acc := range []bool{false, true} {
		for _, m := range []int{1, 3, 4, 5} {
			for _, n := range []int{1, 3, 4, 5, 16, 17} {
				fill := func(n int) []float32 {
					v := make([]float32, n)
					for i := range v {
						v[i] = float32(i + 1)
					}
					return v
				}
				// Inner dimension 0: C = 0, or C unchanged with acc.
				want := fill(m * n)
				if !acc {
					clear(want)
				}
				c := fill(m * n)
				k.gemm(c, []float32{}, []float32{}, m, 0, n, acc)
				require.Equal(t, want, c, "gemm %d×0·0×%d acc=%v", m, n, acc)
				c = fill(m * n)
				k.gemmNT(c, []float32{}, []float32{}, m, 0, n, acc)
				require.Equal(t, want, c, "gemmNT %d×0·(%d×0)ᵀ acc=%v", m, n, acc)
				y := fill(m)
				k.matVec(y, []float32{}, m, 0, []float32{}, acc)
				require.Equal(t, want[:m:m], y[:m:m], "matVec %d×0", m)
			}
		}
		y := []float32{1, 2, 3}
		k.matTVec(y, []float32{}, 0, 3, []float32{}, acc)
		if acc {
			require.Equal(t, []float32{1, 2, 3}, y)
		} else {
			require.Equal(t, []float32{0, 0, 0}, y)
		}
	}
}
