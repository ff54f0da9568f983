package verify

import (
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/lrrn/lrrn/internal/linalg"
	"github.com/lrrn/lrrn/internal/stats"
	"github.com/lrrn/lrrn/verify/attack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func addScaled(x []float64, a float64, d []float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] + a*d[i]
	}
	return out
}

// attacker wraps verify/attack's Attacker with the (output, state,
// accuracy) evaluation these tests use. One per goroutine.
type attacker struct {
	*attack.Attacker
}

func newAttacker(ex *exactProblem) attacker {
	return attacker{ex.NewAttacker(attack.Options{})}
}

// eval returns the exact output at x (warm-started), the minimiser and
// its error bound.
func (a attacker) eval(x, warm []float64) ([]float64, []float64, float64) {
	p := a.Eval(x, warm)
	return p.Out, p.Z, p.Acc
}

// pgdMarginTol bounds the distance between the margin a PGD run returns
// (attack.Margin of the float64 output at the state at.Z, at.Acc from the
// exact minimiser at at.X) and the exact model's margin at at.X: the
// certificate claims that exact margin is > 0 within the radius, so
// mg > −pgdMarginTol unless the certificate is wrong. It is
// exactProblem.marginTol (state error times the largest pair factor,
// rounding of the output sums and of their differences); 0 when PGD met no
// finite margin (at is zero, mg = +Inf).
func pgdMarginTol(ex *exactProblem, at attack.Point) float64 {
	if at.X == nil {
		return 0
	}
	return ex.marginTol(at.X, at.Z, at.Acc)
}

// TestAttackCannotBreakCertificates runs ℓ2 attacks on the exact model at
// the certified radii of real MNIST test images: projected gradient
// descent (one run from the centre, two from random points of the sphere)
// at 0.999·δ and at 0.999·δ_pair must not change the prediction, and the
// smallest adversarial perturbation found (verify/attack's MinAdversarial:
// DeepFool, bisection towards the attacked images the model classifies
// differently, boundary projection) must be longer than both radii.
// It reports the tightness ratio (smallest adversarial distance ÷ radius).
// LRRN_ATTACK_FULL=1 attacks all 500 fixture images with more steps.
func TestAttackCannotBreakCertificates(t *testing.T) {
	m, path := trainedModel(t)
	im, labels := mnistFixture(t)
	nImages, steps := 200, 10
	if os.Getenv("LRRN_ATTACK_FULL") != "" {
		nImages, steps = im.N, 40
	} else if testing.Short() {
		nImages, steps = 24, 5
	}
	// Passes as needed (the default) and 20 passes: the attack must not
	// break the larger radius of the two.
	certs := make([]Certificate, nImages)
	var c *Certifier
	for _, o := range []Options{{}, {Passes: 20}} {
		var err error
		c, err = New(m, o)
		require.NoError(t, err)
		cs := make([]Certificate, nImages)
		require.NoError(t, c.CertifyBatch(t.Context(), im.Pixels[:nImages*784], labels[:nImages], cs))
		for i, ct := range cs {
			if ct.Certified && (!certs[i].Certified || ct.PairRadius > certs[i].PairRadius || ct.Radius > certs[i].Radius) {
				prev := certs[i]
				certs[i] = ct
				if prev.Certified {
					certs[i].Radius = max(ct.Radius, prev.Radius)
					certs[i].PairRadius = max(ct.PairRadius, prev.PairRadius)
				}
			} else if !certs[i].Certified && !ct.Certified {
				certs[i] = ct
			}
		}
	}
	ex := newExact(m)
	var others [][]float64 // boundary-search candidates: images predicted as another class
	otherLabel := []int{}
	for i := 0; i < nImages; i++ {
		others = append(others, f64(im.Image(i)))
		otherLabel = append(otherLabel, certs[i].Pred)
	}

	type result struct {
		i                 int
		dist              float64
		pgdMin, pgdPairMn float64
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAttacker(ex)
			for i := range next {
				cert := certs[i]
				x := f64(im.Image(i))
				y := cert.Label
				_, z0, _ := a.eval(x, nil)
				rng := rand.New(rand.NewPCG(uint64(i), 77))
				res := result{i: i, pgdMin: math.Inf(1), pgdPairMn: math.Inf(1)}
				for ri, r := range []float64{0.999 * cert.Radius, 0.999 * cert.PairRadius} {
					for start := 0; start < 3; start++ {
						delta := make([]float64, len(x))
						if start > 0 {
							for k := range delta {
								delta[k] = rng.NormFloat64()
							}
							s := r / norm(delta)
							for k := range delta {
								delta[k] *= s
							}
						}
						mg, at := a.PGD(x, y, r, delta, steps, z0)
						if !assert.Greater(t, mg, -pgdMarginTol(ex, at), "image %d: PGD at radius %.4g (%s) changed the prediction (margin %.3g)", i, r, []string{"δ", "δ_pair"}[ri], mg) {
							continue
						}
						if ri == 0 {
							res.pgdMin = min(res.pgdMin, mg)
						} else {
							res.pgdPairMn = min(res.pgdPairMn, mg)
						}
					}
				}
				var cands [][]float64
				for k, o := range others {
					if otherLabel[k] != y {
						cands = append(cands, o)
					}
				}
				res.dist = a.MinAdversarial(x, y, z0, cands).Dist
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		}()
	}
	attacked := 0
	for i := 0; i < nImages; i++ {
		if certs[i].Certified && certs[i].Label == certs[i].Pred {
			next <- i
			attacked++
		}
	}
	close(next)
	wg.Wait()
	require.Greater(t, attacked, nImages/2, "too few certified images to attack")
	var ratio, ratioPair []float64
	found := 0
	for _, r := range results {
		cert := certs[r.i]
		if math.IsInf(r.dist, 1) {
			continue
		}
		found++
		assert.Greater(t, r.dist, cert.PairRadius, "image %d: adversarial at distance %.4g inside the pairwise radius %.4g", r.i, r.dist, cert.PairRadius)
		assert.Greater(t, r.dist, cert.Radius, "image %d: adversarial at distance %.4g inside the radius %.4g", r.i, r.dist, cert.Radius)
		ratio = append(ratio, r.dist/cert.Radius)
		ratioPair = append(ratioPair, r.dist/cert.PairRadius)
	}
	sort.Float64s(ratio)
	sort.Float64s(ratioPair)
	t.Logf("model %s: %d of %d images certified and attacked (%d PGD steps, 3 starts, 2 radii); adversarial found for %d",
		path, attacked, nImages, steps, found)
	if found > 0 {
		t.Logf("tightness (smallest adversarial distance ÷ radius): δ: min %.3f median %.3f; δ_pair: min %.3f median %.3f",
			ratio[0], stats.Median(ratio), ratioPair[0], stats.Median(ratioPair))
	}
}

// TestLipschitzUpperBound checks ρ against the exact model: the local
// Jacobian's spectral norm (x ↦ ž_L and x ↦ ž_{L−1}, on the minimiser's
// face) at real images, and difference quotients for random pairs of
// images and for small perturbations of them. It reports the largest
// ratio seen.
func TestLipschitzUpperBound(t *testing.T) {
	m, path := trainedModel(t)
	im, _ := mnistFixture(t)
	c, err := New(m, Options{Passes: 20})
	require.NoError(t, err)
	b := c.Bounds()
	ex := newExact(m)
	a := newAttacker(ex)
	n := 100
	if testing.Short() {
		n = 20
	}
	rng := rand.New(rand.NewPCG(3, 3))
	L := m.L()
	dL := m.Sizes[L]
	var maxJ, maxJpre, maxPair, maxPert float64
	outs := make([][]float64, n)
	states := make([][]float64, n)
	for i := 0; i < n; i++ {
		x := f64(im.Image(i))
		o, z, _ := a.eval(x, nil)
		outs[i], states[i] = o, z
		f := ex.face(z)
		jac := make([]float64, 0, dL*784)
		for u := 0; u < dL; u++ {
			jac = append(jac, f.gradX(ex.outputDir(u))...)
		}
		sj := linalg.SingularValues(jac, dL, 784)[0]
		require.LessOrEqual(t, sj, b.Rho, "image %d: local Jacobian norm above ρ", i)
		maxJ = max(maxJ, sj/b.Rho)
		if c.reduced && ex.K >= 1 {
			dk := m.Sizes[ex.K]
			js := make([]float64, 0, dk*784)
			for u := 0; u < dk; u++ {
				e := make([]float64, ex.N)
				e[ex.offs[ex.K]+u] = 1
				js = append(js, f.gradX(e)...)
			}
			sp := linalg.SingularValues(js, dk, 784)[0]
			require.LessOrEqual(t, sp, b.RhoPre, "image %d: local Jacobian of ž_{L−1} above Π_{j<L−1}ℓ_j", i)
			maxJpre = max(maxJpre, sp/b.RhoPre)
		}
		// Small perturbations.
		for _, eps := range []float64{1e-3, 1e-1, 1} {
			d := make([]float64, 784)
			for k := range d {
				d[k] = rng.NormFloat64()
			}
			s := eps / norm(d)
			xp := addScaled(x, s, d)
			op, _, acc := a.eval(xp, z)
			diff := make([]float64, dL)
			for k := range diff {
				diff[k] = op[k] - o[k]
			}
			r := norm(diff) / eps
			require.LessOrEqual(t, r, b.Rho+4*acc/eps, "image %d ε=%g", i, eps)
			maxPert = max(maxPert, r/b.Rho)
		}
	}
	for p := 0; p < 4*n; p++ {
		i, j := rng.IntN(n), rng.IntN(n)
		if i == j {
			continue
		}
		xi, xj := f64(im.Image(i)), f64(im.Image(j))
		dx := make([]float64, 784)
		for k := range dx {
			dx[k] = xi[k] - xj[k]
		}
		do := make([]float64, dL)
		for k := range do {
			do[k] = outs[i][k] - outs[j][k]
		}
		r := norm(do) / norm(dx)
		require.LessOrEqual(t, r, b.Rho*(1+1e-9), "images %d, %d", i, j)
		maxPair = max(maxPair, r/b.Rho)
	}
	t.Logf("model %s: ρ = %.4f (the paper's estimate %.4f, NOT sound); largest ratio ÷ ρ: local Jacobian %.3f, pairs %.3f, perturbations %.3f; Jacobian of ž_{L−1} ÷ Π_{j<L−1}ℓ_j %.3f",
		path, b.Rho, b.RhoEstimate, maxJ, maxPair, maxPert, maxJpre)
}
