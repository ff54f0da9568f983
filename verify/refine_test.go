package verify

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResidual64Exact checks the float64 residual's rounding bound
// (refBlock: ‖ĝ − g‖ ≤ cy‖y‖ + c0 for the computed fl(R̃y − e) against
// the exact Hs·z − (1+β_{k−1})·W_{k−1}·z_{k−1} − γ(1+β_k)·W_kᵀ·z_{k+1} − e,
// Hs and e as formed in float64) against exact arithmetic (math/big), on the random
// variants and the certified-robust model, for operands with cancellation:
// random signs over six decades, and operands whose products nearly cancel
// row by row.
func TestResidual64Exact(t *testing.T) {
	models := randomVariants()
	robust, err := lrrn.Load("../testdata/mnist-robust-784-256-256-10.bin")
	require.NoError(t, err)
	models = append(models, robust)
	rng := rand.New(rand.NewPCG(64, 1))
	var worst float64
	checked := 0
	for mi, m := range models {
		c, err := New(m, Options{Workers: 1})
		require.NoError(t, err)
		if c.numK == 0 {
			assert.Nil(t, c.ref, "model %d: no blocks, nothing to refine", mi)
			continue
		}
		require.NotNil(t, c.ref, "model %d", mi)
		trials := 4
		if mi == len(models)-1 {
			trials = 1 // 256-wide: big.Float is slow
		}
		for bi := range c.blocks {
			b := &c.blocks[bi]
			k, d := b.k, b.d
			rb := &c.ref[k]
			dl := m.Sizes[k-1]
			du := rb.n - rb.up
			// p = 1+β_{k−1} and q = γ(1+β_k) exactly (the float64 ones
			// the certifier forms are rounded)
			pEx := new(big.Float).SetPrec(4096).Add(big.NewFloat(1), big.NewFloat(m.Beta[k-1]))
			qEx := new(big.Float).SetPrec(4096)
			if du > 0 {
				qEx.Add(big.NewFloat(1), big.NewFloat(m.Beta[k]))
				qEx.Mul(qEx, big.NewFloat(m.Gamma))
			}
			for trial := 0; trial < trials; trial++ {
				// three operands: two paired in asm.Dot4x2, the third
				// with itself
				const ni = 3
				Y := make([]float64, ni*rb.n)
				for i := range Y {
					Y[i] = float64(float32(rng.NormFloat64() * math.Pow(10, rng.Float64()*6-3)))
				}
				if trial == 1 { // the last entry nearly cancels row 0's sum
					for j := 0; j < ni; j++ {
						y := Y[j*rb.n : (j+1)*rb.n]
						var s float64
						for p := 0; p < rb.n-1; p++ {
							s += rb.r[p] * y[p]
						}
						if w := rb.r[rb.n-1]; w != 0 {
							y[rb.n-1] = float64(float32(-s / w))
						}
					}
				}
				G := make([]float64, ni*d)
				rb.gradients(Y, ni, b.e, G)
				for j := 0; j < ni; j++ {
					y, g := Y[j*rb.n:(j+1)*rb.n], G[j*d:(j+1)*d]
					// alone, the operand gives the same bits
					g1 := make([]float64, d)
					rb.gradients(y, 1, b.e, g1)
					require.Equal(t, g1, g, "model %d block %d operand %d: depends on the other operands", mi, k, j)
					var yn2 float64
					for _, v := range y {
						yn2 += v * v
					}
					yn := sqrtUp(mulUp(yn2, 1+gamma(rb.n, u64)))
					// the exact residual, entry by entry
					var err2 float64
					for i := 0; i < d; i++ {
						s := new(big.Float).SetPrec(4096)
						hs := rb.r[i*rb.n : i*rb.n+d] // Hs_k as formed in float64 (copied exactly)
						for p := 0; p < d; p++ {
							s.Add(s, new(big.Float).SetPrec(4096).Mul(big.NewFloat(hs[p]), big.NewFloat(y[p])))
						}
						for p := 0; p < dl; p++ { // −(1+β_{k−1})·W_{k−1}, exact
							pw := new(big.Float).SetPrec(4096).Mul(pEx, big.NewFloat(float64(m.W[k-1][i*dl+p])))
							s.Sub(s, pw.Mul(pw, big.NewFloat(y[rb.lo+p])))
						}
						for r := 0; r < du; r++ { // −γ(1+β_k)·W_kᵀ, exact
							qw := new(big.Float).SetPrec(4096).Mul(qEx, big.NewFloat(float64(m.W[k][r*d+i])))
							s.Sub(s, qw.Mul(qw, big.NewFloat(y[rb.up+r])))
						}
						s.Sub(s, big.NewFloat(b.e[i]))
						diff, _ := new(big.Float).Sub(big.NewFloat(g[i]).SetPrec(4096), s).Float64()
						err2 += diff * diff
					}
					bound := rb.cy*yn + rb.c0
					e := math.Sqrt(err2)
					require.LessOrEqual(t, e, bound, "model %d block %d trial %d operand %d", mi, k, trial, j)
					worst = max(worst, e/bound)
					checked++
				}
			}
		}
	}
	t.Logf("%d block residuals: largest ‖ĝ − g‖ / bound = %.2g", checked, worst)
}

// TestRefineTighter: at the same iterate (fixed passes), the float64
// residual gives every input of the certified-robust model at least the
// certified margin of the float32 one, and certifies more at ε = 1.58,
// the radius the field compares at.
func TestRefineTighter(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 500 images of a 256-wide model, twice")
	}
	m, err := lrrn.Load("../testdata/mnist-robust-784-256-256-10.bin")
	require.NoError(t, err)
	im, labels := mnistFixture(t)
	run := func(o Options) []Certificate {
		c, err := New(m, o)
		require.NoError(t, err)
		out := make([]Certificate, im.N)
		require.NoError(t, c.CertifyBatch(context.Background(), im.Pixels, labels, out))
		return out
	}
	// 64 passes of 4 sweeps: converged to the float32 floor
	r64 := run(Options{Passes: 64, Sweeps: 4})
	r32 := run(Options{Passes: 64, Sweeps: 4, NoRefine: true})
	var at32, at64 int
	var loss32, loss64 []float64
	for i := range r64 {
		a, b := r64[i], r32[i]
		require.Equal(t, b.Margin, a.Margin, "input %d: the same iterate", i)
		assert.GreaterOrEqual(t, a.MarginLower, b.MarginLower, "input %d", i)
		if b.Radius > 1.58 && b.Label == b.Pred {
			at32++
		}
		if a.Radius > 1.58 && a.Label == a.Pred {
			at64++
		}
		if a.Margin > 0 {
			loss64 = append(loss64, (a.Margin-a.MarginLower)/a.Margin)
			loss32 = append(loss32, (b.Margin-b.MarginLower)/b.Margin)
		}
	}
	m32, m64 := stats.Median(loss32), stats.Median(loss64)
	msg := fmt.Sprintf("certified at 1.58: %d (float32 residual) → %d (float64) of %d; median share of the margin lost to the inference error %.3g → %.3g", at32, at64, im.N, m32, m64)
	assert.Greater(t, at64, at32, msg)
	assert.Less(t, m64, m32/10, msg)
	t.Log(msg)
}
