package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/lrrn/lrrn/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randMat(rng *rand.Rand, n, k int) []float64 {
	a := make([]float64, n*k)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	return a
}

// withProcs runs f with GOMAXPROCS set to p.
func withProcs(p int, f func()) {
	old := runtime.GOMAXPROCS(p)
	defer runtime.GOMAXPROCS(old)
	f()
}

// TestGram compares Gram with the textbook triple loop within the
// rounding bound γ_k·Σ|a_ip·a_jp| of any summation order, on sizes around
// the tile and micro-kernel edges, checks symmetry, and that the number of
// cores changes no bit, on every kernel tier of asm (Dot4x2 sums in
// another order on each).
func TestGram(t *testing.T) {
	saved := asm.CurrentTier()
	defer func() { require.NoError(t, asm.SetTier(saved)) }()
	for _, tier := range asm.Available() {
		require.NoError(t, asm.SetTier(tier))
		t.Run(string(tier), testGram)
	}
}

func testGram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 5, 63, 64, 65, 130} {
		for _, k := range []int{1, 3, 4, 7, 100} {
			a := randMat(rng, n, k)
			g0 := float64(k) * 0x1p-53 / (1 - float64(k)*0x1p-53)
			var ref []float64
			for _, procs := range []int{1, 2, 3} {
				g := make([]float64, n*n)
				withProcs(procs, func() { Gram(g, a, n, k) })
				if ref == nil {
					ref = g
					for i := 0; i < n; i++ {
						for j := 0; j < n; j++ {
							var s, abs float64
							for p := 0; p < k; p++ {
								s += a[i*k+p] * a[j*k+p]
								abs += math.Abs(a[i*k+p] * a[j*k+p])
							}
							require.InDelta(t, s, g[i*n+j], 2*g0*abs+1e-300, "n=%d k=%d [%d,%d]", n, k, i, j)
							require.Equal(t, g[i*n+j], g[j*n+i])
						}
					}
					continue
				}
				require.Equal(t, ref, g, "n=%d k=%d procs=%d", n, k, procs)
			}
		}
	}
}

// TestCholesky checks the blocked factorisation against the definition
// (R̂ᵀR̂ reproduces A to rounding), its failure on indefinite matrices, its
// independence of the number of cores (bitwise), and that the envelope
// version gives bitwise the same factor on a block-tridiagonal matrix.
func TestCholesky(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 5, 64, 65, 150, 200} {
		b := randMat(rng, n, n+3)
		A := make([]float64, n*n)
		Gram(A, b, n, n+3)
		var ref []float64
		for _, procs := range []int{1, 2, 3} {
			r := append([]float64(nil), A...)
			var ok bool
			withProcs(procs, func() { ok = Cholesky(r, n, nil) == nil })
			require.True(t, ok, "n=%d", n)
			if ref == nil {
				ref = r
				continue
			}
			for i := 0; i < n; i++ {
				require.Equal(t, ref[i*n:i*n+i+1], r[i*n:i*n+i+1], "n=%d procs=%d row %d", n, procs, i)
			}
		}
		var maxErr, scale float64
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				var s float64
				for p := 0; p <= j; p++ {
					s += ref[i*n+p] * ref[j*n+p]
				}
				maxErr = max(maxErr, math.Abs(s-A[i*n+j]))
				scale = max(scale, math.Abs(A[i*n+j]))
			}
		}
		assert.Less(t, maxErr, 1e-12*scale*float64(n), "n=%d: R̂ᵀR̂ ≠ A", n)
		// Shifted past λ_max: negative definite, must fail.
		r := append([]float64(nil), A...)
		for i := 0; i < n; i++ {
			r[i*n+i] -= 1e3 * scale * float64(n)
		}
		assert.Error(t, Cholesky(r, n, nil), "n=%d: indefinite matrix factorised", n)
	}
	// Block tridiagonal (blocks of 50, 70, 90, 40): envelope = dense.
	sizes := []int{50, 70, 90, 40}
	offs := []int{0}
	for _, d := range sizes {
		offs = append(offs, offs[len(offs)-1]+d)
	}
	n := offs[len(sizes)]
	A := make([]float64, n*n)
	first := make([]int, n)
	for bk := range sizes {
		lo := offs[max(bk-1, 0)]
		for i := offs[bk]; i < offs[bk+1]; i++ {
			first[i] = lo
			for j := lo; j <= i; j++ {
				v := 0.1 * rng.NormFloat64()
				if i == j {
					v = 4 + rng.Float64()
				}
				A[i*n+j], A[j*n+i] = v, v
			}
		}
	}
	dense := append([]float64(nil), A...)
	env := append([]float64(nil), A...)
	require.NoError(t, Cholesky(dense, n, nil))
	require.NoError(t, Cholesky(env, n, first))
	for i := 0; i < n; i++ {
		require.Equal(t, dense[i*n:i*n+i+1], env[i*n:i*n+i+1], "row %d", i)
	}
}

// TestLanczos compares the Lanczos estimates with the Jacobi eigenvalues,
// for one operator and for a batch of scaled copies.
func TestLanczos(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 40, 200} {
		b := randMat(rng, n, n+10)
		A := make([]float64, n*n)
		Gram(A, b, n, n+10)
		for i := 0; i < n; i++ {
			A[i*n+i] += 0.5
		}
		ev := SymEigenvalues(A, n)
		lo, hi := Lanczos(n, 400, 1e-12, func(y, x []float64) { SymMatVec(y, A, x, n, 1) })
		assert.InDelta(t, ev[0], lo, 1e-8*ev[n-1], "n=%d λ_min", n)
		assert.InDelta(t, ev[n-1], hi, 1e-8*ev[n-1], "n=%d λ_max", n)
		s := []float64{1, 2, 0.5, 3}
		los, his := LanczosBatch(n, 4, 400, 1e-12, func(Y, X []float64) { MatVecMulti(Y, A, X, n, 4, s) })
		for t2, f := range s {
			assert.InDelta(t, f*ev[0], los[t2], 1e-8*f*ev[n-1], "n=%d batch %d λ_min", n, t2)
			assert.InDelta(t, f*ev[n-1], his[t2], 1e-8*f*ev[n-1], "n=%d batch %d λ_max", n, t2)
		}
	}
}

// BenchmarkGram: the Gram product of a 784-column layer of 256 rows (the
// σ bounds of W_0) and of a 1024×1024 one, k·n² multiply-adds (the
// lower triangle is computed, the upper copied: reported is half of the
// 2·n²·k flops of the full product).
func BenchmarkGram(b *testing.B) {
	for _, sh := range [][2]int{{256, 784}, {1024, 1024}} {
		n, k := sh[0], sh[1]
		b.Run(fmt.Sprintf("%dx%d", n, k), func(b *testing.B) {
			a := randMat(rand.New(rand.NewPCG(2, 2)), n, k)
			g := make([]float64, n*n)
			for b.Loop() {
				Gram(g, a, n, k)
			}
			b.ReportMetric(float64(n)*float64(n)*float64(k)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GFLOP/s")
		})
	}
}
