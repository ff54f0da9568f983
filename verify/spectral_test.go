package verify

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hadamard returns the n×n Sylvester Hadamard matrix (n a power of two):
// entries ±1 and H·Hᵀ = n·I exactly, so every singular value is √n.
func hadamard(n int) []float32 {
	h := []float32{1}
	for s := 1; s < n; s *= 2 {
		next := make([]float32, 4*s*s)
		for i := 0; i < s; i++ {
			for j := 0; j < s; j++ {
				v := h[i*s+j]
				next[i*2*s+j] = v
				next[i*2*s+j+s] = v
				next[(i+s)*2*s+j] = v
				next[(i+s)*2*s+j+s] = -v
			}
		}
		h = next
	}
	return h
}

// exactCase is a float32 matrix whose extreme singular values are known
// exactly: σ_max² = max2 and σ_min² = min2 (σ_min of Wᵀ on R^rows, 0 when
// rows > cols), as exact rationals.
type exactCase struct {
	name       string
	w          []float32
	rows, cols int
	max2, min2 *big.Float
}

func bf(x float64) *big.Float { return new(big.Float).SetPrec(256).SetFloat64(x) }

func bmul(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(256).Mul(a, b) }

// blockHadamard stacks scaled Hadamard blocks on the diagonal: block i is
// c_i·H_s, so its singular values are exactly √s·|fl32(c_i)|.
func blockHadamard(s int, scales []float64) ([]float32, int) {
	h := hadamard(s)
	n := s * len(scales)
	w := make([]float32, n*n)
	for b, c := range scales {
		c32 := float32(c)
		for i := 0; i < s; i++ {
			for j := 0; j < s; j++ {
				w[(b*s+i)*n+b*s+j] = c32 * h[i*s+j]
			}
		}
	}
	return w, n
}

func exactCases() []exactCase {
	var out []exactCase
	sq := func(c float32, s int) *big.Float { // (√s·|c|)² = s·c²
		x := bf(float64(c))
		return bmul(bmul(x, x), bf(float64(s)))
	}
	for _, scale := range []float64{1, 3.7e30, 1.3e-30, 1e-40 /* subnormal float32 */, 2.9e38 / 64} {
		w, n := blockHadamard(64, []float64{scale})
		c := float32(scale)
		out = append(out, exactCase{fmt.Sprintf("hadamard64×%g", scale), w, n, n, sq(c, 64), sq(c, 64)})
	}
	// Two blocks with nearly equal scales: power iteration converges slowly.
	a, b := 1.0, 1.0-math.Ldexp(1, -20)
	w, n := blockHadamard(16, []float64{a, b, b, 0.5})
	out = append(out, exactCase{"near-repeated", w, n, n, sq(float32(a), 16), sq(0.5, 16)})
	// Huge spread of scales in one matrix.
	w, n = blockHadamard(8, []float64{1e30, 1, 1e-30})
	out = append(out, exactCase{"spread 1e30…1e-30", w, n, n, sq(1e30, 8), sq(1e-30, 8)})
	// Rank deficient: [[H, H], [H, H]] = [[1,1],[1,1]] ⊗ H, σ ∈ {2√32, 0}.
	h := hadamard(32)
	w = make([]float32, 64*64)
	for i := 0; i < 64; i++ {
		for j := 0; j < 64; j++ {
			w[i*64+j] = h[(i%32)*32+j%32]
		}
	}
	out = append(out, exactCase{"rank-deficient", w, 64, 64, bf(4 * 32), bf(0)})
	// Tall (rows > cols): σ_min is 0 by definition; [H; H] has σ = √64.
	w = append(append([]float32(nil), h...), h...)
	out = append(out, exactCase{"tall [H;H]", w, 64, 32, bf(64), bf(0)})
	// Wide [H H]: W Wᵀ = 64·I.
	w = make([]float32, 32*64)
	for i := 0; i < 32; i++ {
		copy(w[i*64:i*64+32], h[i*32:i*32+32])
		copy(w[i*64+32:i*64+64], h[i*32:i*32+32])
	}
	out = append(out, exactCase{"wide [H H]", w, 32, 64, bf(64), bf(64)})
	// Zero matrix.
	out = append(out, exactCase{"zero", make([]float32, 12), 3, 4, bf(0), bf(0)})
	// A single nonzero entry.
	w = make([]float32, 30)
	w[17] = -2.5
	out = append(out, exactCase{"one entry", w, 5, 6, bf(6.25), bf(0)})
	return out
}

func TestSingularBoundsExact(t *testing.T) {
	for _, tc := range exactCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := SingularValueBounds(tc.w, tc.rows, tc.cols)
			require.NoError(t, err)
			up2 := bmul(bf(b.MaxUpper), bf(b.MaxUpper))
			assert.GreaterOrEqual(t, up2.Cmp(tc.max2), 0, "σ_max upper %v below the exact %v", b.MaxUpper, tc.max2)
			lo2 := bmul(bf(b.MinLower), bf(b.MinLower))
			assert.LessOrEqual(t, lo2.Cmp(tc.min2), 0, "σ_min lower %v above the exact %v", b.MinLower, tc.min2)
			// Tightness (relative): within 1e-9 for σ_max; σ_min within 1e-6
			// where it is positive.
			exactMax, _ := tc.max2.Float64()
			exactMax = math.Sqrt(exactMax)
			assert.LessOrEqual(t, b.MaxUpper, exactMax*(1+1e-9)+0, "σ_max bound not tight")
			// The Gram matrix resolves λ_min only down to about n²u·λ_max.
			if exactMin2, _ := tc.min2.Float64(); exactMin2 > 1e-6*exactMax*exactMax {
				assert.GreaterOrEqual(t, b.MinLower, math.Sqrt(exactMin2)*(1-1e-6), "σ_min bound not tight")
			}
			if exactMax > 0 {
				assert.InEpsilon(t, exactMax, b.MaxEstimate, 1e-6)
			}
		})
	}
}

// TestSingularBoundsRandom compares with the float64 Jacobi reference of
// internal/linalg. The reference's own error is bounded by the rounding of
// its Gram matrix and rotations, about (m + 10n)·u·‖W‖_F² on λ; the bound
// must not fall below the reference by more than that, and must be within
// 1e-8 (relative) above it.
func TestSingularBoundsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	shapes := [][2]int{{64, 784}, {64, 64}, {10, 64}, {64, 10}, {1, 50}, {50, 1}, {37, 53}, {128, 96}}
	for _, s := range shapes {
		for _, scale := range []float64{1, 1e20, 1e-20} {
			rows, cols := s[0], s[1]
			w := make([]float32, rows*cols)
			w64 := make([]float64, rows*cols)
			var fro float64
			for i := range w {
				w[i] = float32(rng.NormFloat64() * scale)
				w64[i] = float64(w[i])
				fro += w64[i] * w64[i]
			}
			b, err := SingularValueBounds(w, rows, cols)
			require.NoError(t, err)
			sv := linalg.SingularValues(w64, rows, cols)
			n, m := min(rows, cols), max(rows, cols)
			refErr := float64(m+10*n) * u64 * fro // on σ², absolute
			smax := sv[0]
			assert.GreaterOrEqual(t, b.MaxUpper*b.MaxUpper, smax*smax-refErr, "%v scale %g", s, scale)
			assert.LessOrEqual(t, b.MaxUpper, smax*(1+1e-8), "%v scale %g: not tight", s, scale)
			if rows <= cols {
				smin := sv[len(sv)-1]
				assert.LessOrEqual(t, b.MinLower*b.MinLower, smin*smin+refErr, "%v scale %g", s, scale)
				if smin*smin > 1e6*refErr {
					assert.InEpsilon(t, smin, b.MinLower, 1e-6, "%v scale %g: σ_min not tight", s, scale)
				}
			} else {
				assert.Zero(t, b.MinLower)
			}
		}
	}
}

func TestSingularBoundsErrors(t *testing.T) {
	_, err := SingularValueBounds(make([]float32, 5), 2, 3)
	assert.Error(t, err)
	w := make([]float32, 6)
	w[4] = float32(math.Inf(1))
	_, err = SingularValueBounds(w, 2, 3)
	assert.ErrorContains(t, err, "[1,1]")
}

// TestEigLowerCholSingular: an exactly singular matrix (rank one, integer
// entries, so stored exactly) must never be certified positive definite,
// and one with a tiny known λ_min must not be certified above it.
func TestEigLowerCholSingular(t *testing.T) {
	for _, n := range []int{2, 16, 64, 200} {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i%7 - 3)
		}
		v[0] = 5
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				a[i*n+j] = v[i] * v[j]
			}
		}
		work := make([]float64, n*n)
		for _, s := range []float64{0, -1e-300, 1e-300, -1e-12} {
			if lb, ok := eigLowerChol(a, n, s, 0, work); ok {
				assert.LessOrEqual(t, lb, 0.0, "n=%d shift %g: certified λ_min ≥ %g of a singular matrix", n, s, lb)
			}
		}
		lb, ok := eigLowerBisect(a, n, 0, 100, 0, 60, work)
		if ok {
			assert.LessOrEqual(t, lb, 0.0)
		}
		// a + εI has λ_min = ε exactly.
		eps := math.Ldexp(1, -30)
		for i := 0; i < n; i++ {
			a[i*n+i] += eps
		}
		lb, ok = eigLowerBisect(a, n, 0, 100, 0, 80, work)
		if ok {
			assert.LessOrEqual(t, lb, eps, "n=%d", n)
		}
	}
}

// TestEllUpper checks ellUpper against a dense grid of the function it
// bounds, for intervals on both sides of and around the peak 1/√β.
func TestEllUpper(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 2000; it++ {
		beta := math.Exp(rng.Float64()*8 - 4)
		if it%10 == 0 {
			beta = 0
		}
		lo := rng.Float64() * 3
		hi := lo + rng.Float64()*3
		if it%7 == 0 && beta > 0 { // exactly at the peak
			lo = 1 / math.Sqrt(beta)
			hi = lo * (1 + rng.Float64()*1e-12)
		}
		got := ellUpper(beta, lo, hi)
		var best float64
		for i := 0; i <= 2000; i++ {
			s := lo + (hi-lo)*float64(i)/2000
			f := s
			if beta > 0 {
				f = (1 + beta) * s / (1 + beta*s*s)
			}
			best = max(best, f)
		}
		if beta > 0 {
			best = max(best, (1+beta)*lo/(1+beta*lo*lo), (1+beta)*hi/(1+beta*hi*hi))
		}
		require.GreaterOrEqual(t, got, best, "β=%g [%g,%g]", beta, lo, hi)
		if beta > 0 {
			assert.LessOrEqual(t, got, (1+beta)/(2*math.Sqrt(beta))*(1+1e-12))
		}
	}
	assert.Equal(t, 1.0, math.Round(ellUpper(1, 0, 10)*1e12)/1e12, "β=1 is nonexpansive")
}
