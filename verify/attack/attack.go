package attack

import (
	"cmp"
	"math"
	"slices"
)

// Options configure an Attacker. Zero values take the defaults.
type Options struct {
	// Box keeps every perturbed input in [0,1]^d (pixels). Without it the
	// attacks range over all of R^d, as a certificate does.
	Box bool
	// DeepFoolSteps bounds the linearised steps towards the nearest class
	// boundary (default 60), each overshooting by Overshoot (default 0.05).
	DeepFoolSteps int
	Overshoot     float64
	// Bisections is the number of halvings of a segment between a point
	// that keeps the class and one that provably changes it (default 30).
	Bisections int
	// RefineSteps bounds the projections onto the linearised boundary at
	// the best point found (default 20; negative: none).
	RefineSteps int
	// Candidates is how many of the nearest candidate points
	// MinAdversarial bisects towards (default 20).
	Candidates int
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	o.defaults()
	return o
}

func (o *Options) defaults() {
	if o.DeepFoolSteps == 0 {
		o.DeepFoolSteps = 60
	}
	if o.Overshoot == 0 {
		o.Overshoot = 0.05
	}
	if o.Bisections == 0 {
		o.Bisections = 30
	}
	if o.RefineSteps == 0 {
		o.RefineSteps = 20
	}
	if o.Candidates == 0 {
		o.Candidates = 20
	}
}

// Attacker runs attacks on the exact model. It caches the factorisations
// of the faces it meets, so it is not safe for concurrent use: use one per
// goroutine (they may share the Exact).
type Attacker struct {
	e     *Exact
	o     Options
	fc    *factorCache
	evals int
}

// NewAttacker returns an attacker on the exact model e.
func (e *Exact) NewAttacker(o Options) *Attacker {
	o.defaults()
	return &Attacker{e: e, o: o, fc: newFactorCache(e.n)}
}

// Exact returns the exact model the attacker works on.
func (a *Attacker) Exact() *Exact { return a.e }

// Evals returns the number of exact evaluations so far.
func (a *Attacker) Evals() int { return a.evals }

// Point is the exact model at one input.
type Point struct {
	X   []float64 // the input
	Z   []float64 // the minimiser (stacked blocks 1 … K)
	Out []float64 // the output
	Acc float64   // bound on ‖Z − ž(X)‖
}

// Eval returns the exact model at x, warm-started from the state warm (may
// be nil).
func (a *Attacker) Eval(x, warm []float64) Point {
	a.evals++
	z, acc := a.e.solve(x, warm, a.fc)
	return Point{X: x, Z: z, Out: a.e.Output(x, z), Acc: acc}
}

// Margin returns o_y − max_{j≠y} o_j and the maximising j.
func Margin(o []float64, y int) (float64, int) {
	m, arg := math.Inf(1), -1
	for j := range o {
		if j != y && o[y]-o[j] < m {
			m, arg = o[y]-o[j], j
		}
	}
	return m, arg
}

// MarginUpper returns an upper bound of the exact model's margin of class
// y at p (p's margin plus what its state error can hide) and the class
// attaining it. A negative value proves that the exact model does not
// predict y at p.X.
func (a *Attacker) MarginUpper(p Point, y int) (float64, int) {
	m, arg := math.Inf(1), -1
	for j := range p.Out {
		if j == y {
			continue
		}
		v := p.Out[y] - p.Out[j] + a.e.pairNorm(y, j)*p.Acc
		if v < m {
			m, arg = v, j
		}
	}
	return m, arg
}

// MarginGrad returns ∂(o_y − o_j)/∂x at p, on p's face (nil when the face
// cannot be factored).
func (a *Attacker) MarginGrad(p Point, y, j int) []float64 {
	f := a.e.face(p.Z, a.fc)
	if f == nil {
		return nil
	}
	c := make([]float64, len(p.Out))
	c[y], c[j] = 1, -1
	return f.OutputGradX(c)
}

// clip keeps v in the box when the options ask for it.
func (a *Attacker) clip(v []float64) {
	if !a.o.Box {
		return
	}
	for i := range v {
		v[i] = math.Min(1, math.Max(0, v[i]))
	}
}

// along returns x + t·d (clipped to the box with Options.Box).
func (a *Attacker) along(x, d []float64, t float64) []float64 {
	v := make([]float64, len(x))
	for i := range v {
		v[i] = x[i] + t*d[i]
	}
	a.clip(v)
	return v
}

func dist(x, v []float64) float64 {
	var s float64
	for i := range x {
		d := v[i] - x[i]
		s += d * d
	}
	return math.Sqrt(s)
}

// PGD runs projected gradient descent on the exact margin of class y
// within the ℓ2 ball of radius r around x (and the box with Options.Box),
// starting from the perturbation delta (modified), for the given number of
// steps (step 2.5r/steps along the normalised input gradient of
// o_y − o_j, j the closest class). warm is a state near the minimiser at
// x (may be nil). It returns the smallest margin reached (Margin of the
// evaluation's output, in float64) and that evaluation: its input, state
// and state error bound Acc, from which a caller bounds the distance to
// the exact model's margin there (zero Point when no margin was below
// +Inf).
func (a *Attacker) PGD(x []float64, y int, r float64, delta []float64, steps int, warm []float64) (float64, Point) {
	best, bestAt := math.Inf(1), Point{}
	z := warm
	for s := 0; s <= steps; s++ {
		p := a.Eval(a.along(x, delta, 1), z)
		z = p.Z
		m, j := Margin(p.Out, y)
		if m < best {
			best, bestAt = m, p
		}
		if s == steps || m < 0 {
			break
		}
		g := a.MarginGrad(p, y, j)
		gn := norm(g)
		if g == nil || gn == 0 {
			break
		}
		step := 2.5 * r / float64(steps)
		for i := range delta {
			delta[i] -= step * g[i] / gn
		}
		if dn := norm(delta); dn > r {
			scale(delta, r/dn)
		}
		if a.o.Box {
			for i := range delta {
				delta[i] = math.Min(1, math.Max(0, x[i]+delta[i])) - x[i]
			}
		}
	}
	return best, bestAt
}

// Found is the smallest adversarial perturbation MinAdversarial found.
type Found struct {
	// Dist is ‖X − x‖₂, +Inf when nothing was found.
	Dist float64
	// X is the adversarial input (nil when nothing was found): the exact
	// model provably does not predict the attacked class there.
	X []float64
	// Class is the class with the largest output at X, and MarginUpper the
	// upper bound of the attacked class's exact margin there (< 0).
	Class       int
	MarginUpper float64
	// Method names the search that found X: "deepfool" or
	// "interpolation", with "+refine" when the boundary projection
	// shortened it.
	Method string
}

// flips reports whether the exact model provably changes class y at p.
func (a *Attacker) flips(p Point, y int) bool {
	m, _ := a.MarginUpper(p, y)
	return m < 0
}

// bisect halves the segment t ∈ [lo, hi] of x + t·d, where the point at hi
// provably flips class y and the one at lo does not (hi's evaluation is
// pHi), and returns the smallest hi reached with its point.
func (a *Attacker) bisect(x, d []float64, y int, lo, hi float64, pHi Point) (float64, Point) {
	for b := 0; b < a.o.Bisections; b++ {
		mid := (lo + hi) / 2
		p := a.Eval(a.along(x, d, mid), pHi.Z)
		if a.flips(p, y) {
			hi, pHi = mid, p
		} else {
			lo = mid
		}
	}
	return hi, pHi
}

// MinAdversarial searches for the smallest perturbation of x that changes
// the exact model's prediction away from y (which the model is assumed to
// predict at x): DeepFool steps on the exact model (input gradients by
// implicit differentiation on the minimiser's face) until the class
// changes, bisection of the segment from x to that point, the same
// bisection towards the nearest of the candidate points (e.g. other images
// the model classifies differently; may be nil), then projections of the
// best point onto the linearised class boundary there, each followed by a
// bisection. Every point it returns is confirmed on the exact model:
// MarginUpper < 0. warm is a state near the minimiser at x (may be nil).
func (a *Attacker) MinAdversarial(x []float64, y int, warm []float64, candidates [][]float64) Found {
	s := &search{a: a, x: x, y: y, best: Found{Dist: math.Inf(1), Class: -1}}
	s.p0 = a.Eval(x, warm)
	if a.flips(s.p0, y) {
		s.accept(s.p0, "none")
		return s.best
	}
	s.deepFool()
	s.interpolate(candidates)
	if s.best.X == nil {
		return s.best
	}
	refined := false
	for it := 0; it < a.o.RefineSteps && s.project(); it++ {
		refined = true
	}
	if refined {
		s.best.Method += "+refine"
	}
	return s.best
}

// search is the state of one MinAdversarial: the attacked input x and
// class y, the exact model at x, and the best point so far.
type search struct {
	a     *Attacker
	x     []float64
	y     int
	p0    Point
	best  Found
	bestP Point
}

// accept makes p the best point if it is closer to x than the best so far
// (p must provably change the class).
func (s *search) accept(p Point, method string) bool {
	d := dist(s.x, p.X)
	if !(d < s.best.Dist) {
		return false
	}
	mu, _ := s.a.MarginUpper(p, s.y)
	s.best = Found{Dist: d, X: p.X, Class: argmax(p.Out), MarginUpper: mu, Method: method}
	s.bestP = p
	return true
}

// deepFool takes linearised steps towards the nearest class boundary
// until the class changes, then bisects the segment from x.
func (s *search) deepFool() {
	a, x, y := s.a, s.x, s.y
	delta := make([]float64, len(x))
	p := s.p0
	for it := 0; it < a.o.DeepFoolSteps; it++ {
		stepLen, dir := math.Inf(1), []float64(nil)
		for j := range p.Out {
			if j == y {
				continue
			}
			g := a.MarginGrad(p, y, j)
			gn := norm(g)
			if g == nil || gn == 0 {
				continue
			}
			if st := (p.Out[y] - p.Out[j]) / gn; st < stepLen {
				stepLen, dir = st, g
				scale(dir, 1/gn)
			}
		}
		if dir == nil {
			return
		}
		for i := range delta {
			delta[i] -= (1 + a.o.Overshoot) * (stepLen + 1e-4) * dir[i]
		}
		xp := a.along(x, delta, 1)
		for i := range delta {
			delta[i] = xp[i] - x[i]
		}
		p = a.Eval(xp, p.Z)
		if a.flips(p, y) {
			_, pt := a.bisect(x, delta, y, 0, 1, p)
			s.accept(pt, "deepfool")
			return
		}
	}
}

// interpolate bisects the segments towards the nearest candidates.
func (s *search) interpolate(candidates [][]float64) {
	a, x, y := s.a, s.x, s.y
	type cand struct {
		i int
		d float64
	}
	cs := make([]cand, len(candidates))
	for i, c := range candidates {
		cs[i] = cand{i, dist(x, c)}
	}
	slices.SortFunc(cs, func(u, v cand) int { return cmp.Compare(u.d, v.d) })
	for _, c := range cs[:min(a.o.Candidates, len(cs))] {
		if !(c.d < s.best.Dist) || c.d == 0 {
			return
		}
		d := make([]float64, len(x))
		for i := range d {
			d[i] = candidates[c.i][i] - x[i]
		}
		// Only the part of the segment shorter than the best so far can
		// improve it.
		hi := min(1, s.best.Dist/c.d)
		ph := a.Eval(a.along(x, d, hi), s.p0.Z)
		if !a.flips(ph, y) {
			continue
		}
		_, pt := a.bisect(x, d, y, 0, hi, ph)
		s.accept(pt, "interpolation")
	}
}

// project is one boundary projection: at the best point p (just across
// the boundary of o_y − o_j) the linearised boundary is
// {q : gᵀ(q − p) = 0}, and its point nearest x is x + g·gᵀ(p − x)/‖g‖².
// It tries the directions from x towards it (and mixes with p − x),
// bisects the first point that changes the class, and reports whether
// that shortened the best distance (by more than 10⁻⁶ relative).
func (s *search) project() bool {
	a, x, y := s.a, s.x, s.y
	_, j := Margin(s.bestP.Out, y)
	g := a.MarginGrad(s.bestP, y, j)
	gn := norm(g)
	if g == nil || gn == 0 {
		return false
	}
	px := make([]float64, len(x))
	for i := range px {
		px[i] = s.bestP.X[i] - x[i]
	}
	c := dot(g, px) / (gn * gn)
	for _, mix := range []float64{1, 0.5, 0.25} {
		d := make([]float64, len(x))
		for i := range d {
			d[i] = mix*c*g[i] + (1-mix)*px[i]
		}
		dn := norm(d)
		if dn == 0 {
			continue
		}
		// Along d, points up to the best distance; the first one that
		// changes the class is bisected from the last one that does not.
		tMax := s.best.Dist / dn
		lo := 0.0
		for _, f := range []float64{0.9, 1, 1.1, 1.25, 1.5, 2} {
			t := math.Min(f, tMax)
			if t <= lo {
				continue
			}
			pt := a.Eval(a.along(x, d, t), s.bestP.Z)
			if a.flips(pt, y) {
				_, pb := a.bisect(x, d, y, lo, t, pt)
				if dist(x, pb.X) < s.best.Dist*(1-1e-6) && s.accept(pb, s.best.Method) {
					return true
				}
				break
			}
			lo = t
			if t == tMax {
				break
			}
		}
	}
	return false
}

func argmax(o []float64) int {
	b := 0
	for i, v := range o {
		if v > o[b] {
			b = i
		}
	}
	return b
}

// NearestOther returns, as candidates for MinAdversarial, the k inputs of
// a set (pixels, n inputs of d values, input-major) nearest to x in ℓ2
// among those whose predicted class pred[j] is not y, nearest first.
func NearestOther(x []float32, pixels []float32, d int, pred []int, y, k int) [][]float64 {
	type cand struct {
		j int
		d float64
	}
	var cs []cand
	for j := range pred {
		if pred[j] == y {
			continue
		}
		var s float64
		for p, v := range pixels[j*d : (j+1)*d] {
			u := float64(x[p]) - float64(v)
			s += u * u
		}
		cs = append(cs, cand{j, s})
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	var out [][]float64
	for _, c := range cs[:min(k, len(cs))] {
		v := make([]float64, d)
		for p, px := range pixels[c.j*d : (c.j+1)*d] {
			v[p] = float64(px)
		}
		out = append(out, v)
	}
	return out
}
