package asm

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every kernel is run on every tier of Available() through the exported
// functions (SetTier, then restore) and compared with the pure-Go reference
// on the same inputs: clamp bit for bit, sums within the rounding bound below.
//
// Rounding bound. Any evaluation order of s = Σ_{i<n} t_i (products t_i =
// a_i·b_i rounded once, or fused) satisfies |ŝ − s| ≤ γ_n·Σ|t_i| with
// γ_n = n·u/(1 − n·u), u = 2⁻²⁴, when nothing overflows; underflow adds at
// most 2⁻¹⁵⁰ per rounded product. Both the reference and the tier are within
// that of the exact s, so they are within twice that of each other; the test
// computes Σ|t_i| in float64, where the products are exact.

const (
	unitRoundoff = 0x1p-24
	underflowEta = 0x1p-149 // twice the largest underflow error of one product
)

func gamma(n int) float64 {
	nu := float64(n) * unitRoundoff
	return nu / (1 - nu)
}

// sumRef accumulates, in float64, the exact terms of one float32 sum.
type sumRef struct {
	exact float64 // Σ t_i with IEEE semantics (Inf, NaN)
	abs   float64 // Σ |t_i| over the finite terms
	n     int     // number of terms
}

func (r *sumRef) prod(a, b float32) { r.term(float64(a) * float64(b)) }

func (r *sumRef) term(t float64) {
	r.exact += t
	if !math.IsInf(t, 0) && !math.IsNaN(t) {
		r.abs += math.Abs(t)
	}
	r.n++
}

// overflowPossible: some partial sum or product of the finite terms could
// reach the float32 range's end, in some order.
func (r *sumRef) overflowPossible() bool { return r.abs >= math.MaxFloat32/4 }

// bound on |tier − reference|.
func (r *sumRef) bound() float64 {
	return 2 * (gamma(r.n)*r.abs + float64(r.n)*underflowEta)
}

// checkSum compares a tier's sum with the reference's. When the exact sum is
// NaN both must be NaN (a NaN or Inf·0 or Inf−Inf among the terms is NaN in
// any order). When no overflow is possible the result is determined: an
// infinite exact sum must come out as that infinity in both, a finite one
// finite and within the bound. When overflow is possible the order decides
// whether it happens, so only two finite results are compared.
func checkSum(t *testing.T, got, want float32, r *sumRef, format string, args ...any) {
	t.Helper()
	what := func() string { return fmt.Sprintf(format, args...) }
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(r.exact):
		if !math.IsNaN(g) || !math.IsNaN(w) {
			t.Fatalf("%s: exact sum is NaN, got %v, reference %v", what(), got, want)
		}
	case !r.overflowPossible() && math.IsInf(r.exact, 0):
		if g != r.exact || w != r.exact {
			t.Fatalf("%s: exact sum is %v, got %v, reference %v", what(), r.exact, got, want)
		}
	case !r.overflowPossible():
		if math.IsInf(g, 0) || math.IsNaN(g) || math.IsInf(w, 0) || math.IsNaN(w) {
			t.Fatalf("%s: exact sum %v is finite without possible overflow, got %v, reference %v", what(), r.exact, got, want)
		}
		if d := math.Abs(g - w); d > r.bound() {
			t.Fatalf("%s: got %v, reference %v, |diff| %g > bound %g (n=%d, Σ|t|=%g)", what(), got, want, d, r.bound(), r.n, r.abs)
		}
	default:
		if !math.IsInf(g, 0) && !math.IsNaN(g) && !math.IsInf(w, 0) && !math.IsNaN(w) {
			if d := math.Abs(g - w); d > r.bound() {
				t.Fatalf("%s: got %v, reference %v, |diff| %g > bound %g (n=%d, Σ|t|=%g)", what(), got, want, d, r.bound(), r.n, r.abs)
			}
		}
	}
}

// --- buffers with canaries ---------------------------------------------------

// canary is a signalling NaN with a payload no kernel produces (canary64
// for the float64 buffers of Dot4x2).
const (
	canary   = 0x7fa5c3e1
	canary64 = 0x7ff5c3e1a5c3e1a5
)

const guardLen = 19

// guarded is a slice of n floats at offset off of a larger buffer whose other
// elements hold canaries.
type guarded[T float32 | float64] struct {
	buf []T
	off int
	n   int
}

// floatBits returns the bits of v (float32 or float64) and the canary of
// its type.
func floatBits[T float32 | float64](v T) (bits, canaryBits uint64) {
	switch v := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(v)), canary
	case float64:
		return math.Float64bits(v), canary64
	}
	panic("unreachable")
}

func newGuarded[T float32 | float64](n, off int) *guarded[T] {
	g := &guarded[T]{buf: make([]T, off+n+guardLen), off: off, n: n}
	var zero T
	_, c := floatBits(zero)
	for i := range g.buf {
		switch b := any(&g.buf[i]).(type) {
		case *float32:
			*b = math.Float32frombits(uint32(c))
		case *float64:
			*b = math.Float64frombits(c)
		}
	}
	return g
}

func (g *guarded[T]) s() []T { return g.buf[g.off : g.off+g.n : g.off+g.n] }

func (g *guarded[T]) check(t *testing.T, what string) {
	t.Helper()
	for i, v := range g.buf {
		if i >= g.off && i < g.off+g.n {
			continue
		}
		if b, c := floatBits(v); b != c {
			t.Fatalf("%s: canary at %d (slice [%d:%d]) overwritten with %#x", what, i, g.off, g.off+g.n, b)
		}
	}
}

// guardedCopy puts a copy of v in a guarded buffer at offset off.
func guardedCopy[T float32 | float64](v []T, off int) *guarded[T] {
	g := newGuarded[T](len(v), off)
	copy(g.s(), v)
	return g
}

// --- tiers -------------------------------------------------------------------

var (
	tierRunsMu sync.Mutex
	tierRuns   = map[string]map[Tier]bool{} // kernel → tiers that ran

	// simdOnly makes forEachTier skip the generic tier and record nothing
	// (for reruns of the tests that exercise only the SIMD wrappers).
	simdOnly bool
)

// forEachTier runs f with each available tier set, restoring the tier in
// use afterwards, and records which tiers f actually ran on for TestMain's
// check.
func forEachTier(t *testing.T, kernel string, f func(t *testing.T)) {
	t.Helper()
	saved := CurrentTier()
	defer func() { require.NoError(t, SetTier(saved)) }()
	for _, tier := range Available() {
		if simdOnly && tier == Generic {
			continue
		}
		require.NoError(t, SetTier(tier))
		ok := t.Run(string(tier), func(t *testing.T) {
			if simdOnly {
				f(t)
				return
			}
			tierRunsMu.Lock()
			if tierRuns[kernel] == nil {
				tierRuns[kernel] = map[Tier]bool{}
			}
			tierRuns[kernel][tier] = true
			tierRunsMu.Unlock()
			f(t)
		})
		if !ok {
			return
		}
	}
}

// TestMain fails the run when a kernel test ran on some tiers but not on
// every tier of Available(), unless a -run pattern selected subtests.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if run := flag.Lookup("test.run"); run != nil && strings.Contains(run.Value.String(), "/") {
		os.Exit(code)
	}
	var missing []string
	for kernel, ran := range tierRuns {
		for _, tier := range Available() {
			if !ran[tier] {
				missing = append(missing, kernel+"/"+string(tier))
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		fmt.Fprintf(os.Stderr, "FAIL: kernel tests did not run on tiers: %v\n", missing)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// RequireTiersEnv names tiers (comma-separated) that must be available, so
// that a CI machine with AVX-512 fails loudly if the build or the CPU
// detection silently lost the tier.
const RequireTiersEnv = "LRRN_REQUIRE_TIERS"

func TestRequiredTiersAvailable(t *testing.T) {
	want := strings.TrimSpace(os.Getenv(RequireTiersEnv))
	if want == "" {
		t.Skipf("%s not set; available: %v", RequireTiersEnv, Available())
	}
	for _, name := range strings.Split(want, ",") {
		tier := Tier(strings.ToLower(strings.TrimSpace(name)))
		require.Contains(t, Available(), tier, "%s demands tier %q", RequireTiersEnv, tier)
	}
}

func TestAvailableEndsWithGeneric(t *testing.T) {
	av := Available()
	require.NotEmpty(t, av)
	require.Equal(t, Generic, av[len(av)-1])
	require.Equal(t, av[0], tiers[0].tier)
	seen := map[Tier]bool{}
	for _, tier := range av {
		require.False(t, seen[tier], "tier %s listed twice", tier)
		seen[tier] = true
	}
	require.Error(t, SetTier("sse9"))
}

// --- data --------------------------------------------------------------------

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Float64()*2 - 1)
	}
	return v
}

var testLengths = func() []int {
	var l []int
	for n := 0; n <= 40; n++ {
		l = append(l, n)
	}
	return append(l, 47, 48, 63, 64, 65, 95, 127, 128, 129, 255, 256, 257, 784, 1000)
}()

var testWidths = func() []int {
	var w []int
	for n := 1; n <= 17; n++ {
		w = append(w, n)
	}
	return append(w, 31, 32, 33, 63, 64)
}()

// testShapes are the matrix shapes m×n (m×k for products) of the model and
// odd ones: every remainder of m and k modulo 4 (the NEON row blocks and k
// steps) and 8.
var testShapes = [][2]int{{64, 784}, {64, 64}, {10, 64}, {784, 64}, {1, 1}, {3, 17}, {17, 3}, {5, 10}, {6, 7}}

// smallShapes adds, for the matrix-vector products, every small m against
// the column counts where the vector loops (32, 16, 8, 4 and 1 wide) change.
var smallShapes = func() (sh [][2]int) {
	for _, m := range []int{2, 4, 5, 7, 9, 13} {
		for _, n := range []int{2, 4, 5, 8, 9, 12, 15, 16, 31, 33} {
			sh = append(sh, [2]int{m, n})
		}
	}
	return sh
}()

func isBig(m, n int) bool { return m*n > 10000 }

// widthsFor keeps all tile widths for small matrices and a subset (still
// covering every panel remainder class; fewer with -short) for the two big
// ones.
func widthsFor(m, k int) []int {
	if isBig(m, k) {
		if testing.Short() {
			return []int{1, 7, 10, 17, 64}
		}
		return []int{1, 2, 3, 7, 10, 16, 17, 33, 64}
	}
	return append(slices.Clone(testWidths), 65, 100, 129)
}

// --- tests -------------------------------------------------------------------

// checkDot runs Dot on guarded copies of x and y (at offsets off and 7−off)
// and checks the sum within the rounding bound, the canaries and that the
// inputs are unchanged. The fuzz targets use it too, like the other check…
// functions below.
func checkDot(t *testing.T, x, y []float32, off int) {
	t.Helper()
	gx, gy := guardedCopy(x, off), guardedCopy(y, 7-off)
	got := Dot(gx.s(), gy.s())
	var r sumRef
	for i := range x {
		r.prod(x[i], y[i])
	}
	checkSum(t, got, dotGeneric(x, y), &r, "Dot n=%d off=%d", len(x), off)
	require.True(t, sameBits(x, gx.s()), "Dot changed x")
	require.True(t, sameBits(y, gy.s()), "Dot changed y")
	gx.check(t, "Dot x")
	gy.check(t, "Dot y")
}

func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	forEachTier(t, "dot", func(t *testing.T) {
		for _, n := range testLengths {
			for off := 0; off < 8; off++ {
				checkDot(t, randVec(rng, n), randVec(rng, n), off)
			}
		}
	})
}

// checkAxpy: Axpy on guarded copies (x at off, y at 7−off), every element
// within the rounding bound of its two terms.
func checkAxpy(t *testing.T, alpha float32, x, y []float32, off int) {
	t.Helper()
	gx, gy := guardedCopy(x, off), guardedCopy(y, 7-off)
	Axpy(alpha, gx.s(), gy.s())
	want := slices.Clone(y)
	axpyGeneric(alpha, x, want)
	for i := range y {
		var r sumRef
		r.term(float64(y[i]))
		r.prod(alpha, x[i])
		checkSum(t, gy.s()[i], want[i], &r, "Axpy n=%d off=%d alpha=%v i=%d", len(x), off, alpha, i)
	}
	require.True(t, sameBits(x, gx.s()), "Axpy changed x")
	gx.check(t, "Axpy x")
	gy.check(t, "Axpy y")
}

func TestAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	forEachTier(t, "axpy", func(t *testing.T) {
		for _, n := range testLengths {
			for off := 0; off < 8; off++ {
				alpha := float32(rng.Float64()*4 - 2)
				checkAxpy(t, alpha, randVec(rng, n), randVec(rng, n), off)
			}
		}
	})
}

// clampValues mixes ordinary values with every special the semantics care
// about: NaNs (quiet, signalling, negative, with payloads), ±0, ±Inf,
// subnormals and the bounds themselves.
func clampValues(rng *rand.Rand, n int, lo, hi float32) []float32 {
	specials := append(slices.Clone(clampSpecials), lo, hi,
		math.Nextafter32(lo, float32(math.Inf(1))), math.Nextafter32(hi, float32(math.Inf(-1))))
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(3) == 0 {
			v[i] = specials[rng.IntN(len(specials))]
		} else {
			v[i] = float32(rng.Float64()*4 - 2)
		}
	}
	return v
}

// clampSpecials are values whose clamp is easy to get wrong: NaNs (quiet,
// signalling, negative, with payloads), both zeros, both infinities,
// subnormals, the extremes and values at and next to common bounds.
var clampSpecials = []float32{
	float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00123),
	math.Float32frombits(0x7fbfffff), math.Float32frombits(0xffc00000), math.Float32frombits(0xff812345),
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
	math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32,
	1, -1, 0.5, -0.5, 1.0000001, 0.99999994, 2, -2, 1e-30, -1e-30,
}

var clampBounds = [][2]float32{
	{-1, 1}, {0, 1}, {0, float32(math.Inf(1))}, {float32(math.Inf(-1)), float32(math.Inf(1))},
	{float32(math.Copysign(0, -1)), float32(math.Inf(1))},
	{float32(math.Inf(-1)), 0}, {float32(math.Inf(-1)), -1}, {float32(math.Copysign(0, -1)), 0}, {0, 0},
	{float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))}, {0.5, 0.5}, {1, 1}, {0.5, 2},
	{float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), float32(math.Inf(-1))},
	{math.SmallestNonzeroFloat32, 1}, {-1, -math.SmallestNonzeroFloat32},
	{math.SmallestNonzeroFloat32, 2 * math.SmallestNonzeroFloat32},
}

// checkClamp: Clamp on a guarded copy of x at offset off, bit for bit the
// reference's.
func checkClamp(t *testing.T, x []float32, lo, hi float32, off int) {
	t.Helper()
	gx := guardedCopy(x, off)
	Clamp(gx.s(), lo, hi)
	want := slices.Clone(x)
	clampGeneric(want, lo, hi)
	for i := range want {
		if math.Float32bits(gx.s()[i]) != math.Float32bits(want[i]) {
			t.Fatalf("Clamp(lo=%v, hi=%v) n=%d: x[%d]=%#x → %#x, reference %#x", lo, hi, len(x), i,
				math.Float32bits(x[i]), math.Float32bits(gx.s()[i]), math.Float32bits(want[i]))
		}
	}
	gx.check(t, "Clamp")
}

func TestClamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	forEachTier(t, "clamp", func(t *testing.T) {
		for _, b := range clampBounds {
			for _, n := range testLengths {
				checkClamp(t, clampValues(rng, n, b[0], b[1]), b[0], b[1], rng.IntN(8))
			}
			// Every special in every lane of the 16-, 4- and 1-wide steps.
			for _, v := range clampSpecials {
				for _, n := range []int{1, 4, 16, 21} {
					x := make([]float32, n)
					for i := range x {
						x[i] = v
					}
					checkClamp(t, x, b[0], b[1], n%8)
				}
			}
		}
	})
}

// TestClampSemantics pins the reference itself: NaN kept bit for bit, −0
// kept unless a bound exceeds it strictly, infinite bounds.
func TestClampSemantics(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	snan := math.Float32frombits(0x7f800001)
	cases := []struct {
		x, lo, hi, want float32
	}{
		{negZero, 0, 1, negZero},
		{0, negZero, negZero, 0},
		{negZero, math.SmallestNonzeroFloat32, 1, math.SmallestNonzeroFloat32},
		{negZero, -1, -math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32},
		{snan, 0, 1, snan},
		{-inf, 0, inf, 0},
		{inf, -inf, 1, 1},
		{inf, -inf, inf, inf},
	}
	forEachTier(t, "clamp", func(t *testing.T) {
		for _, c := range cases {
			for n := 1; n <= 40; n += 13 {
				x := make([]float32, n)
				for i := range x {
					x[i] = c.x
				}
				Clamp(x, c.lo, c.hi)
				for i := range x {
					require.Equal(t, math.Float32bits(c.want), math.Float32bits(x[i]),
						"clamp(%v, %v, %v) n=%d i=%d", c.x, c.lo, c.hi, n, i)
				}
			}
		}
	})
}

// checkMatVec runs MatVec (trans: MatTVec) for the m×n matrix a on guarded
// copies (a at off, x at 7−off, y at off+3) and checks every entry of y
// within the rounding bound, all canaries and that a and x are unchanged.
func checkMatVec(t *testing.T, a, x, y []float32, m, n int, acc, trans bool, off int) {
	t.Helper()
	ga, gx, gy := guardedCopy(a, off), guardedCopy(x, 7-off), guardedCopy(y, (off+3)%8)
	want := slices.Clone(y)
	name := "MatVec"
	if trans {
		name = "MatTVec"
		MatTVec(gy.s(), ga.s(), m, n, gx.s(), acc)
		matTVecGeneric(want, a, m, n, x, acc)
	} else {
		MatVec(gy.s(), ga.s(), m, n, gx.s(), acc)
		matVecGeneric(want, a, m, n, x, acc)
	}
	for i := range y {
		var r sumRef
		if acc {
			r.term(float64(y[i]))
		}
		for j := range x {
			if trans { // y[i] = Σ_j x[j]·a[j][i]
				r.prod(x[j], a[j*n+i])
			} else {
				r.prod(a[i*n+j], x[j])
			}
		}
		checkSum(t, gy.s()[i], want[i], &r, "%s %dx%d acc=%v y[%d]", name, m, n, acc, i)
	}
	gy.check(t, name+" y")
	ga.check(t, name+" a")
	gx.check(t, name+" x")
	require.True(t, sameBits(a, ga.s()), "%s changed a", name)
	require.True(t, sameBits(x, gx.s()), "%s changed x", name)
}

func TestMatVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	forEachTier(t, "matVec", func(t *testing.T) {
		for ci, sh := range append(slices.Clone(testShapes), smallShapes...) {
			for _, acc := range []bool{false, true} {
				m, n := sh[0], sh[1]
				checkMatVec(t, randVec(rng, m*n), randVec(rng, n), randVec(rng, m), m, n, acc, false, (ci*3+1)%8)
			}
		}
	})
}

func TestMatTVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	forEachTier(t, "matTVec", func(t *testing.T) {
		shapes := append(slices.Clone(testShapes), [2]int{5, 1000}, [2]int{2, 129}, [2]int{7, 65})
		shapes = append(shapes, smallShapes...)
		for ci, sh := range shapes {
			for _, acc := range []bool{false, true} {
				m, n := sh[0], sh[1]
				checkMatVec(t, randVec(rng, m*n), randVec(rng, m), randVec(rng, n), m, n, acc, true, (ci*5+2)%8)
			}
		}
	})
}

// gemmCase runs Gemm (nt=false: B is k×n) or GemmNT (nt: B is n×k) on one
// shape against the reference.
func gemmCase(t *testing.T, rng *rand.Rand, m, k, n int, nt, acc bool, off int) {
	t.Helper()
	checkGemm(t, randVec(rng, m*k), randVec(rng, k*n), randVec(rng, m*n), m, k, n, nt, acc, off)
}

// checkGemm runs Gemm or GemmNT on guarded copies of a, b, c (starting at
// offset off) and checks every entry within the rounding bound, the
// canaries and that the inputs are unchanged bit for bit (NaNs included).
// The fuzz targets use it too.
func checkGemm(t *testing.T, a, b, c []float32, m, k, n int, nt, acc bool, off int) {
	t.Helper()
	ga, gb, gc := guardedCopy(a, off), guardedCopy(b, (off+5)%8), guardedCopy(c, 7-off)
	want := slices.Clone(c)
	name := "Gemm"
	if nt {
		name = "GemmNT"
		GemmNT(gc.s(), ga.s(), gb.s(), m, k, n, acc)
		gemmNTGeneric(want, a, b, m, k, n, acc)
	} else {
		Gemm(gc.s(), ga.s(), gb.s(), m, k, n, acc)
		gemmGeneric(want, a, b, m, k, n, acc)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var r sumRef
			if acc {
				r.term(float64(c[i*n+j]))
			}
			for p := 0; p < k; p++ {
				if nt {
					r.prod(a[i*k+p], b[j*k+p])
				} else {
					r.prod(a[i*k+p], b[p*n+j])
				}
			}
			checkSum(t, gc.s()[i*n+j], want[i*n+j], &r, "%s m=%d k=%d n=%d acc=%v C[%d][%d]", name, m, k, n, acc, i, j)
		}
	}
	gc.check(t, name+" C")
	ga.check(t, name+" A")
	gb.check(t, name+" B")
	require.True(t, sameBits(a, ga.s()), name+" A changed")
	require.True(t, sameBits(b, gb.s()), name+" B changed")
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	forEachTier(t, "gemm", func(t *testing.T) {
		for ci, sh := range testShapes {
			for wi, n := range widthsFor(sh[0], sh[1]) {
				acc := (ci+wi)%2 == 0
				gemmCase(t, rng, sh[0], sh[1], n, false, acc, (ci+wi)%8)
				if !isBig(sh[0], sh[1]) {
					gemmCase(t, rng, sh[0], sh[1], n, false, !acc, (ci+wi+3)%8)
				}
			}
		}
		// k and n both 1, m and n transposed shapes.
		gemmCase(t, rng, 5, 1, 70, false, true, 1)
		gemmCase(t, rng, 1, 64, 64, false, false, 2)
	})
}

func TestGemmNT(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	forEachTier(t, "gemmNT", func(t *testing.T) {
		for ci, sh := range testShapes {
			for wi, n := range widthsFor(sh[0], sh[1]) {
				acc := (ci+wi)%2 == 1
				gemmCase(t, rng, sh[0], sh[1], n, true, acc, (ci+wi)%8)
				if !isBig(sh[0], sh[1]) {
					gemmCase(t, rng, sh[0], sh[1], n, true, !acc, (ci+wi+5)%8)
				}
			}
		}
		gemmCase(t, rng, 5, 1, 7, true, true, 1)
		gemmCase(t, rng, 6, 1000, 5, true, false, 3)
	})
}

// unitRef is the float64 picture of one column of a unit update: g = Σ h·z −
// c, v = z_row − g·inv, and the per-implementation error bound of v.
type unitRef struct {
	g      sumRef
	v      float64
	z      float64
	ovf    bool
	bound2 float64 // bound on |tier − reference|
}

func newUnitRef(zs, h, ci []float32, row, k, t, j int, inv float32) unitRef {
	var u unitRef
	for p := 0; p < k; p++ {
		u.g.prod(h[p], zs[p*t+j])
	}
	u.g.term(-float64(ci[j]))
	u.z = float64(zs[row*t+j])
	fi := math.Abs(float64(inv))
	u.v = u.z - u.g.exact*float64(inv)
	G := u.g.abs
	u.ovf = G >= math.MaxFloat32/4 || G*fi >= math.MaxFloat32/4 ||
		(!math.IsInf(u.z, 0) && math.Abs(u.z) >= math.MaxFloat32/4)
	gk := gamma(k + 1)
	e := fi*gk*G + gamma(2)*(math.Abs(u.z)+fi*G*(1+gk)) + (fi*float64(k+1)+2)*underflowEta
	u.bound2 = 2 * e
	return u
}

// check applies the rules of checkSum to v and then the clamp, which is
// 1-Lipschitz, so the bound on v bounds the clamped values too.
func (u *unitRef) check(t *testing.T, what string, got, want, lo, hi float32) {
	t.Helper()
	g, w := float64(got), float64(want)
	fin := func(x float64) bool { return !math.IsInf(x, 0) && !math.IsNaN(x) }
	switch {
	case math.IsNaN(u.v):
		if !math.IsNaN(g) || !math.IsNaN(w) {
			t.Fatalf("%s: exact v is NaN, got %v, reference %v", what, got, want)
		}
	case u.ovf:
		// Whether an intermediate overflows depends on the order, and the
		// clamp may hide it: nothing more is determined.
	case math.IsInf(u.v, 0):
		e := []float32{float32(u.v)}
		clampGeneric(e, lo, hi)
		if math.Float32bits(got) != math.Float32bits(e[0]) || math.Float32bits(want) != math.Float32bits(e[0]) {
			t.Fatalf("%s: exact v=%v clamps to %v, got %v, reference %v", what, u.v, e[0], got, want)
		}
	default:
		if !fin(g) || !fin(w) {
			// Only an infinite bound can give an infinite result here.
			if g != w {
				t.Fatalf("%s: v=%v finite, got %v, reference %v", what, u.v, got, want)
			}
			return
		}
		if d := math.Abs(g - w); d > u.bound2 {
			t.Fatalf("%s: got %v, reference %v, |diff| %g > bound %g", what, got, want, d, u.bound2)
		}
	}
}

func unitCase(t *testing.T, rng *rand.Rand, k, tw, row int, inv, lo, hi float32, off int) {
	t.Helper()
	checkUnit(t, randVec(rng, k*tw), randVec(rng, k), randVec(rng, tw), row, k, tw, inv, lo, hi, off)
}

// checkUnit runs UnitUpdate on guarded copies (zs at off, h at off+3, ci at
// 7−off) and checks row `row` column by column (unitRef), that no other row
// changed, all canaries and that h and ci are unchanged.
func checkUnit(t *testing.T, zs, h, ci []float32, row, k, tw int, inv, lo, hi float32, off int) {
	t.Helper()
	gz, gh, gc := guardedCopy(zs, off), guardedCopy(h, (off+3)%8), guardedCopy(ci, 7-off)
	want := slices.Clone(zs)
	unitUpdateGeneric(want, h, ci, row, k, tw, inv, lo, hi)
	UnitUpdate(gz.s(), gh.s(), gc.s(), row, k, tw, inv, lo, hi)
	for j := 0; j < tw; j++ {
		u := newUnitRef(zs, h, ci, row, k, tw, j, inv)
		u.check(t, fmt.Sprintf("UnitUpdate k=%d t=%d row=%d col %d", k, tw, row, j), gz.s()[row*tw+j], want[row*tw+j], lo, hi)
	}
	for i := range zs {
		if i/tw != row && math.Float32bits(gz.s()[i]) != math.Float32bits(zs[i]) {
			t.Fatalf("UnitUpdate k=%d t=%d row=%d changed zs[%d][%d]", k, tw, row, i/tw, i%tw)
		}
	}
	gz.check(t, "UnitUpdate zs")
	gh.check(t, "UnitUpdate h")
	gc.check(t, "UnitUpdate ci")
	require.True(t, sameBits(h, gh.s()), "UnitUpdate changed h")
	require.True(t, sameBits(ci, gc.s()), "UnitUpdate changed ci")
}

func TestUnitUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	inf := float32(math.Inf(1))
	bounds := [][2]float32{{-inf, inf}, {0, inf}, {0, 1}, {-0.1, 0.1}}
	widths := append(slices.Clone(testWidths), 65, 100, 129)
	forEachTier(t, "unitUpdate", func(t *testing.T) {
		i := 0
		for _, k := range []int{64, 1, 2, 3, 5, 10, 17, 784} {
			for _, tw := range widths {
				if k == 784 && tw > 17 && tw != 64 {
					continue
				}
				for _, row := range []int{0, k / 2, k - 1} {
					b := bounds[i%len(bounds)]
					inv := float32(0.1 + rng.Float64()*2)
					unitCase(t, rng, k, tw, row, inv, b[0], b[1], i%8)
					i++
				}
			}
		}
	})
}

// TestUnitUpdateClampSemantics checks the clamp inside UnitUpdate on values
// that reach it exactly: with h = 0 and ci = −0, g = (±0) − (−0) = +0 in
// any summation order and v = z − (+0)·invHii is z itself, so the result
// must be Clamp's bit for bit, −0 and the zeros of the bounds included. A
// NaN must stay NaN (arithmetic quiets a signalling NaN, so its bits may
// change); infinities are left out (0·Inf in g is NaN).
func TestUnitUpdateClampSemantics(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	forEachTier(t, "unitUpdate", func(t *testing.T) {
		for _, b := range clampBounds {
			for _, tw := range []int{2, 4, 5, 16, 21, 64, 65} {
				for _, v := range clampSpecials {
					if math.IsInf(float64(v), 0) {
						continue
					}
					const k, row = 3, 1
					zs := make([]float32, k*tw)
					ci := make([]float32, tw)
					for j := 0; j < tw; j++ {
						zs[row*tw+j] = v
						ci[j] = negZero
					}
					want := []float32{v}
					clampGeneric(want, b[0], b[1])
					UnitUpdate(zs, make([]float32, k), ci, row, k, tw, 1, b[0], b[1])
					for j := 0; j < tw; j++ {
						got := zs[row*tw+j]
						if v != v {
							require.True(t, got != got, "UnitUpdate of NaN %#08x to [%v, %v], t=%d: got %v", math.Float32bits(v), b[0], b[1], tw, got)
							continue
						}
						require.Equal(t, math.Float32bits(want[0]), math.Float32bits(got), "UnitUpdate clamp of %v to [%v, %v], t=%d", v, b[0], b[1], tw)
					}
				}
			}
		}
	})
}

// TestBCDSweep runs whole sweeps of unit updates (every row in turn, so
// each update reads the rows the previous ones wrote) on tiles of the
// model's shape. Like Sweep's test (sweep_test.go), each step is checked
// against the exact (float64) step from the tier's own current values,
// within one implementation's rounding bound (unitRef; the clamp is
// 1-Lipschitz): no tolerance depends on how the sweep contracts.
func TestBCDSweep(t *testing.T) {
	const k = 64
	rng := rand.New(rand.NewPCG(17, 18))
	inf := float32(math.Inf(1))
	forEachTier(t, "unitUpdate", func(t *testing.T) {
		for _, tw := range []int{10, 64, 37} {
			zs, H, c := randVec(rng, k*tw), randVec(rng, k*k), randVec(rng, k*tw)
			for i := 0; i < k; i++ {
				H[i*k+i] = 8 // diagonally dominant: the sweep contracts
			}
			refs := make([]unitRef, tw)
			for row := 0; row < k; row++ {
				h := H[row*k : row*k+k]
				ci := c[row*tw : row*tw+tw]
				for j := range refs {
					refs[j] = newUnitRef(zs, h, ci, row, k, tw, j, 1.0/8)
				}
				UnitUpdate(zs, h, ci, row, k, tw, 1.0/8, 0, inf)
				for j := range refs {
					sweepStep(t, fmt.Sprintf("t=%d row %d col %d", tw, row, j), &refs[j], zs[row*tw+j], 0, inf)
				}
			}
		}
	})
}

// TestWrapperRouting checks the exported functions' special cases (n == 1
// and t == 1 routes, empty sizes) on every tier.
func TestWrapperRouting(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	forEachTier(t, "routing", func(t *testing.T) {
		for _, acc := range []bool{false, true} {
			gemmCase(t, rng, 7, 33, 1, false, acc, 3)
			gemmCase(t, rng, 7, 33, 1, true, acc, 4)
		}
		unitCase(t, rng, 64, 1, 5, 0.5, -1, 1, 2)
		c := []float32{1, 2}
		Gemm(c, nil, nil, 1, 0, 2, true)
		require.Equal(t, []float32{1, 2}, c)
		Gemm(c, nil, nil, 1, 0, 2, false)
		require.Equal(t, []float32{0, 0}, c)
		require.Zero(t, Dot(nil, nil))
		require.Panics(t, func() { Dot(make([]float32, 2), make([]float32, 3)) })
	})
}

var (
	sparseIdx = []int32{3, 5, 6, 7, 40, 41, 90, 111}
	nzIdx     = make([]int32, 784)
	sinkInt   int
)

// TestNoAllocs: the kernels allocate nothing on the model's shapes (they
// run 64 times per layer and pass; garbage there would be the GC's work).
func TestNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x, y := randVec(rng, 784), randVec(rng, 784)
	a, c := randVec(rng, 64*784), randVec(rng, 64*64)
	b := randVec(rng, 64*784)
	zs, h := randVec(rng, 64*64), randVec(rng, 64)
	var a64 [6][]float64
	for i := range a64 {
		a64[i] = randVec64(rng, 1000)
	}
	forEachTier(t, "allocs", func(t *testing.T) {
		cases := map[string]func(){
			"Dot":        func() { sink = Dot(x, y) },
			"Axpy":       func() { Axpy(1e-9, x, y) },
			"Clamp":      func() { Clamp(x, -1, 1) },
			"MatVec":     func() { MatVec(y[:64], a, 64, 784, x, false) },
			"MatTVec":    func() { MatTVec(y, a, 64, 784, x[:64], true) },
			"Gemm t=64":  func() { Gemm(c, zs, b[:64*64], 64, 64, 64, true) },
			"Gemm t=10":  func() { Gemm(c[:640], zs, b[:640], 64, 64, 10, false) },
			"Gemm t=5":   func() { Gemm(c[:320], zs, b[:320], 64, 64, 5, false) },
			"GemmNT":     func() { GemmNT(c[:640], a, b[:7840], 64, 784, 10, false) },
			"Unit t=64":  func() { UnitUpdate(zs, h, y[:64], 3, 64, 64, 0.5, 0, 1) },
			"Unit t=10":  func() { UnitUpdate(zs[:640], h, y[:10], 3, 64, 10, 0.5, 0, 1) },
			"Unit t=5":   func() { UnitUpdate(zs[:320], h, y[:5], 3, 64, 5, 0.5, 0, 1) },
			"Unit t=100": func() { UnitUpdate(b[:6400], h, y[:100], 3, 64, 100, 0.5, 0, 1) },
			"Sweep d=64": func() { Sweep(y[:64], zs, x[:64], h, 64, 0, 1) },
			"Dot4x2":     func() { sink64 = Dot4x2(a64[0], a64[1], a64[2], a64[3], a64[4], a64[5])[7] },
			"SparseAxpy": func() { SparseAxpy(y[:64], b[:112*64], 64, sparseIdx, x[:len(sparseIdx)]) },
			"Nonzeros":   func() { sinkInt = Nonzeros(nzIdx, y, x) },
		}
		for name, f := range cases {
			if n := testing.AllocsPerRun(20, f); n != 0 {
				t.Errorf("%s: %v allocations per call", name, n)
			}
		}
	})
}

// --- Dot4x2 (float64) --------------------------------------------------------

// dot4x2LaneModel is the SIMD tiers' order of Dot4x2 (see its doc) written
// out in Go with math.FMA: the avx2, avx512 and neon tiers must give its
// bits exactly, on every input (NaN payloads aside).
func dot4x2LaneModel(a [4][]float64, b [2][]float64) (s [8]float64) {
	n := len(a[0])
	k := n &^ 3
	for e := range s {
		x, y := a[e/2], b[e%2]
		var l [4]float64
		for p := 0; p < k; p++ {
			l[p%4] = math.FMA(x[p], y[p], l[p%4])
		}
		s[e] = (l[0] + l[2]) + (l[1] + l[3])
		for p := k; p < n; p++ {
			s[e] += float64(x[p] * y[p])
		}
	}
	return s
}

// checkSum64 compares the float64 dot product got of x and y with the
// reference want, as checkSum does for float32 (both within γ_n·Σ|x_i·y_i|
// of the exact sum, plus underflow). The exact sum is not representable
// here, so the cases are decided from the inputs: a NaN, Inf·0 or
// infinite terms of both signs make the sum NaN in any order; otherwise
// infinite terms of one sign make it that infinity, unless the finite
// terms might overflow (Σ|t| ≥ MaxFloat64/4, in which case the order
// decides and only finite results are compared).
func checkSum64(t *testing.T, got, want float64, x, y []float64, format string, args ...any) {
	t.Helper()
	what := func() string { return fmt.Sprintf(format, args...) }
	var nan, posInf, negInf bool
	var abs float64
	for i := range x {
		switch {
		case math.IsNaN(x[i]) || math.IsNaN(y[i]):
			nan = true
		case math.IsInf(x[i], 0) || math.IsInf(y[i], 0):
			p := x[i] * y[i]
			nan = nan || math.IsNaN(p) // Inf·0
			posInf = posInf || math.IsInf(p, 1)
			negInf = negInf || math.IsInf(p, -1)
		default:
			abs += math.Abs(x[i] * y[i])
		}
	}
	nan = nan || posInf && negInf
	n := float64(len(x))
	g := n * 0x1p-53 / (1 - (n+1)*0x1p-53)
	// Each side: γ_n·Σ|t| (Σ|t| itself computed with relative error below
	// 2γ_{n+1}) and at most 2^-1075 per rounded operation for underflow.
	bound := 2 * (g*abs*(1+4*g) + 2*n*0x1p-1075)
	overflow := abs >= math.MaxFloat64/4
	finite := func(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
	switch {
	case nan:
		if !math.IsNaN(got) || !math.IsNaN(want) {
			t.Fatalf("%s: the sum is NaN, got %v, reference %v", what(), got, want)
		}
	case (posInf || negInf) && !overflow:
		inf := math.Inf(1)
		if negInf {
			inf = math.Inf(-1)
		}
		if got != inf || want != inf {
			t.Fatalf("%s: the sum is %v, got %v, reference %v", what(), inf, got, want)
		}
	case !overflow:
		if !finite(got) || !finite(want) {
			t.Fatalf("%s: finite sum without possible overflow, got %v, reference %v", what(), got, want)
		}
		fallthrough
	default:
		if finite(got) && finite(want) && math.Abs(got-want) > bound {
			t.Fatalf("%s: got %v, reference %v, |diff| %g > bound %g (n=%d, Σ|t|=%g)", what(), got, want, math.Abs(got-want), bound, len(x), abs)
		}
	}
}

// checkDot4x2 runs Dot4x2 on guarded copies of the six vectors (at offsets
// off … off+5 mod 8 elements: every position relative to a vector and a
// cache line) and checks each entry against the reference within the
// rounding bound, on the SIMD tiers also bit for bit against the lane
// model, and the canaries and inputs.
func checkDot4x2(t *testing.T, a [4][]float64, b [2][]float64, off int) {
	t.Helper()
	var ga [4]*guarded[float64]
	var gb [2]*guarded[float64]
	for r := range ga {
		ga[r] = guardedCopy(a[r], (off+r)%8)
	}
	for c := range gb {
		gb[c] = guardedCopy(b[c], (off+4+c)%8)
	}
	got := Dot4x2(ga[0].s(), ga[1].s(), ga[2].s(), ga[3].s(), gb[0].s(), gb[1].s())
	want := dot4x2Generic(a[0], a[1], a[2], a[3], b[0], b[1])
	n := len(a[0])
	for e := range got {
		checkSum64(t, got[e], want[e], a[e/2], b[e%2], "Dot4x2 n=%d off=%d entry %d", n, off, e)
	}
	if CurrentTier() != Generic {
		model := dot4x2LaneModel(a, b)
		for e := range got {
			g, m := got[e], model[e]
			if math.Float64bits(g) != math.Float64bits(m) && !(math.IsNaN(g) && math.IsNaN(m)) {
				t.Fatalf("Dot4x2 n=%d off=%d entry %d: got %v (%#x), lane order gives %v (%#x)",
					n, off, e, g, math.Float64bits(g), m, math.Float64bits(m))
			}
		}
	}
	for r := range ga {
		require.True(t, sameBits64(a[r], ga[r].s()), "Dot4x2 changed a%d", r)
		ga[r].check(t, fmt.Sprintf("Dot4x2 a%d", r))
	}
	for c := range gb {
		require.True(t, sameBits64(b[c], gb[c].s()), "Dot4x2 changed b%d", c)
		gb[c].check(t, fmt.Sprintf("Dot4x2 b%d", c))
	}
}

func sameBits64(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

func randVec64(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// dot4x2Lengths: every length to 20 (each remainder mod 4 and the first
// few lane rounds), around 16, 32, 64, 128, and the certifier's sizes.
var dot4x2Lengths = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
	31, 32, 33, 63, 64, 65, 127, 128, 129, 784, 1000}

func TestDot4x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	forEachTier(t, "dot4x2", func(t *testing.T) {
		for _, n := range dot4x2Lengths {
			for off := 0; off < 8; off++ {
				a := [4][]float64{randVec64(rng, n), randVec64(rng, n), randVec64(rng, n), randVec64(rng, n)}
				b := [2][]float64{randVec64(rng, n), randVec64(rng, n)}
				checkDot4x2(t, a, b, off)
			}
		}
		// Terms from 2⁻⁶⁰ to 2⁶⁰ of both signs (the order decides the
		// rounding), −0 and +0 terms.
		n := 9
		a := [4][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
		b := [2][]float64{make([]float64, n), make([]float64, n)}
		for p := 0; p < n; p++ {
			a[0][p], a[1][p], a[2][p], a[3][p] = math.Ldexp(1, 60*(p%3)-60), -1, math.Copysign(0, -1), 0.1
			b[0][p], b[1][p] = 1, math.Ldexp(1, -60*(p%3))
		}
		a[0][1] = -a[0][1]
		checkDot4x2(t, a, b, 3)
		// The lengths must agree; no input is no sum.
		require.Panics(t, func() { Dot4x2(a[0], a[1], a[2], a[3][:8], b[0], b[1]) })
		require.Panics(t, func() { Dot4x2(a[0], a[1], a[2], a[3], b[0], nil) })
		require.Equal(t, [8]float64{}, Dot4x2(nil, nil, nil, nil, nil, nil))
	})
}
