package main

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLipschitzLowerOfAnAffineMap checks the lower bound where the
// Lipschitz constant is known: with linear activations the exact model is
// an affine map x ↦ Jx + c, whose Lipschitz constant is σ_max(J), and the
// quotient along the top right singular vector attains it. J comes here
// from central differences of the exact model (exact for an affine map up
// to rounding), independently of the implicit gradients lipschitzLower
// uses; a wrong direction gives a smaller quotient.
func TestLipschitzLowerOfAnAffineMap(t *testing.T) {
	for _, beta := range [][]float64{{1, 0}, {0.5, 1}} { // reduced output, output a block
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{7, 5, 3}, Acts: []lrrn.Activation{lrrn.Linear, lrrn.Linear}, Beta: beta, Gamma: 0.5, Passes: 10}, 3)
		require.NoError(t, err)
		ex, err := attack.NewExact(m)
		require.NoError(t, err)
		d, dL := 7, 3
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float32, d)
		for j := range x {
			x[j] = rng.Float32()
		}
		const h = 1e-3
		J := make([]float64, dL*d)
		for j := 0; j < d; j++ {
			p, q := f64(x), f64(x)
			p[j] += h
			q[j] -= h
			zp, _ := ex.Solve(p, nil)
			zq, _ := ex.Solve(q, nil)
			op, oq := ex.Output(p, zp), ex.Output(q, zq)
			for r := 0; r < dL; r++ {
				J[r*d+j] = (op[r] - oq[r]) / (2 * h)
			}
		}
		want := linalg.SingularValues(J, dL, d)[0]
		lb, err := lipschitzLower(context.Background(), ex, x, d, 1, 10)
		require.NoError(t, err)
		assert.Equal(t, 1, lb.images)
		assert.Zero(t, lb.skipped)
		assert.InDelta(t, want, lb.max, 1e-7*want, "β %v", beta)
		assert.Equal(t, lb.max, lb.mean)
	}
}

// TestLipschitzLowerBelowCertified checks the two sides against each
// other on the shipped models and real images: a lower bound of the
// Lipschitz constant above verify's certified ρ would make one of them
// wrong.
func TestLipschitzLowerBelowCertified(t *testing.T) {
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	for _, path := range []string{"../../testdata/mnist-784-64-64-10.bin", "../../testdata/mnist-robust-784-256-256-10.bin"} {
		m, err := lrrn.Load(path)
		require.NoError(t, err)
		c, err := verify.New(m, verify.Options{Workers: 1})
		require.NoError(t, err)
		ex, err := attack.NewExact(m)
		require.NoError(t, err)
		b := c.Bounds()
		lb, err := lipschitzLower(context.Background(), ex, im.Pixels, im.Dim(), 10, b.Layers[len(b.Layers)-1].MaxUpper)
		require.NoError(t, err)
		assert.Equal(t, 10, lb.images, path)
		assert.Zero(t, lb.skipped, path)
		assert.Greater(t, lb.mean, 0.0, path)
		assert.LessOrEqual(t, lb.mean, lb.max, path)
		assert.LessOrEqual(t, lb.max, b.Rho, path)
	}
}

func TestLipschitzCommand(t *testing.T) {
	out, errs, code := runCmd(t, "lipschitz", "../../testdata/mnist-784-64-64-10.bin")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "W_2 10x64 β=0: σ_max ≤ 2.46")
	assert.Contains(t, out, "ρ ≤ 2.46")
	assert.NotContains(t, out, "Lipschitz constant ≥", "no lower bound without --lipschitz-n")
	_, errs, code = runCmd(t, "lipschitz", "../../testdata/no-such-model.bin")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "no-such-model.bin")
}
