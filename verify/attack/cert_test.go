package attack_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertificatesHoldNonReduced attacks verify's certificates of models
// whose linear output is a block of the energy (β_{L−1} > 0: issue 12's
// certified-robust configuration β = [1, 1, 1], γ = 1/8, and one with
// β = [0.25, 4, 0.5]): PGD from the centre and from two random points at
// 0.999·δ must not change the exact prediction, and the smallest
// adversarial example found must lie beyond δ.
func TestCertificatesHoldNonReduced(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	attacked, found := 0, 0
	for mi, beta := range [][]float64{{1, 1, 1}, {0.25, 4, 0.5}} {
		m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{30, 20, 20, 5}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear},
			Beta: beta, Gamma: 0.125, Passes: 20}, uint64(40+mi))
		require.NoError(t, err)
		for i := range m.B[2] {
			m.B[2][i] = float32(0.3 * rng.NormFloat64())
		}
		c, err := verify.New(m, verify.Options{Workers: 1, Passes: 20})
		require.NoError(t, err)
		ex, err := attack.NewExact(m)
		require.NoError(t, err)
		a := ex.NewAttacker(attack.Options{})
		for trial := 0; trial < 30; trial++ {
			x32 := make([]float32, 30)
			for i := range x32 {
				x32[i] = float32(rng.Float64())
			}
			cert, err := c.Certify(x32, -1)
			require.NoError(t, err)
			if !cert.Certified {
				continue
			}
			assert.True(t, math.IsNaN(cert.PairRadius), "δ_pair needs a reduced output")
			attacked++
			x := make([]float64, 30)
			for i, v := range x32 {
				x[i] = float64(v)
			}
			p := a.Eval(x, nil)
			r := 0.999 * cert.Radius
			for start := 0; start < 3; start++ {
				delta := make([]float64, 30)
				if start > 0 {
					var n2 float64
					for i := range delta {
						delta[i] = rng.NormFloat64()
						n2 += delta[i] * delta[i]
					}
					for i := range delta {
						delta[i] *= r / math.Sqrt(n2)
					}
				}
				mg, at := a.PGD(x, cert.Label, r, delta, 20, p.Z)
				// A unit of state error moves an output difference by ≤ √2.
				assert.Greater(t, mg, -2*math.Sqrt2*at.Acc, "model %d trial %d: PGD at 0.999·δ changed the prediction", mi, trial)
			}
			f := a.MinAdversarial(x, cert.Label, p.Z, nil)
			if f.X == nil {
				continue
			}
			found++
			assert.Greater(t, f.Dist, cert.Radius, "model %d trial %d: adversarial inside the certified radius", mi, trial)
		}
	}
	t.Logf("%d certified inputs attacked, adversarial found for %d", attacked, found)
	assert.Greater(t, found, 20, "too few adversarial examples for the test to mean anything")
}
