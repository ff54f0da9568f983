package attack_test

import (
	"math"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shippedRobust is the certified-robust MNIST model README shows
// (testdata/README.md: how it was trained).
const shippedRobust = "../../testdata/mnist-robust-784-256-256-10.bin"

// TestShippedRobustCertificatesHold attacks lrrn-verify's default
// certificates of the shipped certified-robust model on real MNIST test
// images: PGD from the image and from two random starts at 0.999·δ must
// not change the exact model's prediction, and the smallest adversarial
// example found must lie beyond δ. Its certificates are nearly tight
// (results/README.md: found ÷ δ from 1.12), so this is where a bound that
// claimed a little too much would show.
func TestShippedRobustCertificatesHold(t *testing.T) {
	m, err := lrrn.Load(shippedRobust)
	require.NoError(t, err)
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	lb, err := idx.ReadLabels("../../testdata/mnist-t500-labels-idx1-ubyte.gz")
	require.NoError(t, err)
	n := 16
	if testing.Short() {
		n = 6
	}
	c, err := verify.New(m, verify.Options{Workers: 1})
	require.NoError(t, err)
	ex, err := attack.NewExact(m)
	require.NoError(t, err)
	a := ex.NewAttacker(attack.Options{}) // a certificate covers all of R^d, not only the pixel box
	d := im.Dim()
	attacked, found := 0, 0
	closest := math.Inf(1) // the smallest found ÷ δ
	for i := 0; attacked < n && i < im.N; i++ {
		cert, err := c.Certify(im.Pixels[i*d:(i+1)*d], int(lb[i]))
		require.NoError(t, err)
		if !cert.Certified || cert.Radius <= 0 {
			continue
		}
		attacked++
		x := make([]float64, d)
		for j, v := range im.Pixels[i*d : (i+1)*d] {
			x[j] = float64(v)
		}
		p := a.Eval(x, nil)
		r := 0.999 * cert.Radius
		for start := 0; start < 3; start++ {
			delta := make([]float64, d)
			if start > 0 {
				for j := range delta {
					delta[j] = math.Sin(float64((j + 1) * (start*7919 + i)))
				}
				var n2 float64
				for _, v := range delta {
					n2 += v * v
				}
				for j := range delta {
					delta[j] *= r / math.Sqrt(n2)
				}
			}
			mg, at := a.PGD(x, cert.Label, r, delta, 20, p.Z)
			assert.Greater(t, mg, -2*math.Sqrt2*at.Acc, "image %d: PGD at 0.999·δ changed the prediction", i)
		}
		f := a.MinAdversarial(x, cert.Label, p.Z, nil)
		if f.X == nil {
			continue
		}
		found++
		closest = min(closest, f.Dist/cert.Radius)
		assert.Greater(t, f.Dist, cert.Radius, "image %d: adversarial example inside the certified radius", i)
	}
	t.Logf("%d certified images attacked, adversarial example found for %d, the closest at %.4g·δ", attacked, found, closest)
	require.Equal(t, n, attacked)
	assert.GreaterOrEqual(t, found, n/2, "too few adversarial examples for the test to mean anything")
}
