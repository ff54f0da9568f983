package train

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lrrn/lrrn/lrrn"
)

// Loss selects what the clamped phase's output target is
// (docs/training.md, "Objectives for certified margins").
type Loss uint8

// The output losses.
const (
	// OneHot clamps the output to Scale·onehot(y): the paper's objective
	// at Scale 1.
	OneHot Loss = iota
	// Margin nudges the free output along −∇ℓ of the hinge
	// ℓ = Σ_{j≠y} max(0, κ_j − (z_y − z_j)): it asks for the margin the
	// certificate at ε_train needs.
	Margin
	// CrossEntropy nudges the free output along −∇ℓ of
	// ℓ = T·CE(softmax((z + κ)/T), y), κ added to the non-target logits
	// (Lipschitz-margin training); with Eps 0 it is plain cross-entropy.
	CrossEntropy
)

func (l Loss) String() string {
	switch l {
	case Margin:
		return "margin"
	case CrossEntropy:
		return "ce"
	}
	return "onehot"
}

// Estimator selects how a nudged objective's second phase moves the
// output (docs/training.md, "Nudged target" and "Driven phases").
type Estimator uint8

// The estimators of a nudged objective's gradient.
const (
	// Clamp holds the output at t = ž_L − α∇ℓ and relaxes the hidden
	// layers: the contrastive gradient is ≈ α·γ^{L−1}·(M∇ℓ)ᵀ∂ž_L/∂θ, with
	// errors O(γ) and O(α).
	Clamp Estimator = iota
	// Drive leaves the output free and adds the linear term
	// α·γ^{L−1}⟨∇ℓ, z_L⟩ to the energy (lrrn.Solver.FreeDrivenFrom):
	// equilibrium propagation with the loss linearised at ž_L, whose
	// gradient is α·γ^{L−1}·∇_θℓ with error O(α) and none in γ.
	Drive
	// Symmetric runs Drive's phase with +α and −α and takes half their
	// difference: the O(α) error cancels, O(α²) remains.
	Symmetric
)

func (e Estimator) String() string {
	switch e {
	case Drive:
		return "drive"
	case Symmetric:
		return "sym"
	}
	return "clamp"
}

// Objective is the supervised objective: the output target of the
// clamped phase. The zero value is the paper's (onehot, scale 1).
//
// For Margin and CrossEntropy with the Clamp estimator (Est; Drive and
// Symmetric drive the free output instead) the target is t = ž_L − Nudge·∇_z ℓ(ž_L)
// with t held fixed, so the contrastive gradient is approximately
// Nudge·γ^{L−1}·∇_θ ℓ (exactly so as γ → 0 and Nudge → 0). The margins
// asked for are the certificate's at ε = Eps: κ_j = ε·Π_{k<L−1}ℓ̄_k·‖w_y − w_j‖
// when the output is the reduced linear layer (β_{L−1} = 0; the pairwise
// radius of package verify), else κ_j = √2·ε·Π_k ℓ̄_k, where
// ℓ̄_k = (1+β_k)/(2√β_k) bounds ℓ(β_k, W) for every W (1 at β = 1); a
// layer with β = 0 has no such bound, so with Eps > 0 only a reduced output
// layer may have β = 0. In the reduced case κ depends on the output
// weights, and ℓ's gradient through κ is added to them: this is the
// Lipschitz control of the one layer that does not bound itself.
type Objective struct {
	Loss   Loss
	Scale  float64   // OneHot: target Scale·onehot(y); 0 means 1
	Nudge  float64   // Margin, CrossEntropy: step α of the target along −∇ℓ; 0 means 1
	Eps    float64   // ε_train ≥ 0, the radius the margins are asked for
	Warmup int       // epochs over which ε rises linearly from 0 to Eps
	Temp   float64   // CrossEntropy: temperature T; 0 means 1
	Est    Estimator // Margin, CrossEntropy: how the second phase moves the output
	// Passes is the BCD passes of the phases that start from the free
	// state (the nudged clamp, or the driven ±α phases) for Margin and
	// CrossEntropy; 0 means Options.Passes. They start within O(α) of
	// their equilibrium, the free phase from zero.
	Passes int
}

func (o Objective) scale() float64 { return or1(o.Scale) }
func (o Objective) nudge() float64 { return or1(o.Nudge) }
func (o Objective) temp() float64  { return or1(o.Temp) }

func or1(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}

// nudged reports whether the target depends on the free state.
func (o Objective) nudged() bool { return o.Loss != OneHot }

// EpsAt returns ε_train during epoch e (0-based) and fraction f ∈ [0,1) of
// it: the linear warm-up, then Eps.
func (o Objective) EpsAt(e int, f float64) float64 {
	if o.Warmup <= 0 {
		return o.Eps
	}
	return o.Eps * min(1, (float64(e)+f)/float64(o.Warmup))
}

// String writes the form ParseObjective reads, e.g. "onehot,scale=3" or
// "ce,eps=1.58,temp=0.25,nudge=2,warmup=10".
func (o Objective) String() string {
	var b strings.Builder
	b.WriteString(o.Loss.String())
	kv := func(k string, v float64) { b.WriteString("," + k + "=" + strconv.FormatFloat(v, 'g', -1, 64)) }
	if o.Scale != 0 && o.Scale != 1 {
		kv("scale", o.Scale)
	}
	if o.Eps != 0 {
		kv("eps", o.Eps)
	}
	if o.Temp != 0 && o.Temp != 1 {
		kv("temp", o.Temp)
	}
	if o.Nudge != 0 && o.Nudge != 1 {
		kv("nudge", o.Nudge)
	}
	if o.Warmup != 0 {
		b.WriteString(",warmup=" + strconv.Itoa(o.Warmup))
	}
	if o.Est != Clamp {
		b.WriteString(",est=" + o.Est.String())
	}
	if o.Passes != 0 {
		b.WriteString(",passes=" + strconv.Itoa(o.Passes))
	}
	return b.String()
}

// ParseObjective parses the form String writes: a loss (onehot, margin or
// ce) followed by comma-separated key=value settings: scale (onehot), eps,
// warmup (epochs), temp (ce), nudge (margin, ce), est (margin, ce: clamp,
// drive or sym), passes (margin, ce: of the phases after the free one).
func ParseObjective(s string) (Objective, error) {
	var o Objective
	parts := strings.Split(strings.TrimSpace(s), ",")
	switch parts[0] {
	case "onehot", "":
	case "margin":
		o.Loss = Margin
	case "ce":
		o.Loss = CrossEntropy
	default:
		return o, fmt.Errorf("objective %q: want onehot, margin or ce first, e.g. \"onehot,scale=3\", \"ce,eps=1.58,temp=0.25\"", s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return o, fmt.Errorf("objective %q: %q is not key=value", s, p)
		}
		if k == "warmup" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return o, fmt.Errorf("objective %q: warmup %q is not a number of epochs ≥ 0", s, v)
			}
			o.Warmup = n
			continue
		}
		if k == "passes" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, fmt.Errorf("objective %q: passes %q is not a number of passes ≥ 1", s, v)
			}
			if o.Loss == OneHot {
				return o, fmt.Errorf("objective %q: passes does not apply to onehot (its clamped phase starts from zero)", s)
			}
			o.Passes = n
			continue
		}
		if k == "est" {
			switch v {
			case "clamp":
				o.Est = Clamp
			case "drive":
				o.Est = Drive
			case "sym":
				o.Est = Symmetric
			default:
				return o, fmt.Errorf("objective %q: est %q, want clamp, drive or sym", s, v)
			}
			if o.Loss == OneHot {
				return o, fmt.Errorf("objective %q: est does not apply to onehot", s)
			}
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return o, fmt.Errorf("objective %q: %s=%q is not a finite number", s, k, v)
		}
		var dst *float64
		var okFor bool
		switch k {
		case "scale":
			dst, okFor = &o.Scale, o.Loss == OneHot
		case "eps":
			dst, okFor = &o.Eps, o.Loss != OneHot
		case "temp":
			dst, okFor = &o.Temp, o.Loss == CrossEntropy
		case "nudge":
			dst, okFor = &o.Nudge, o.Loss != OneHot
		default:
			return o, fmt.Errorf("objective %q: unknown setting %q (want scale, eps, warmup, temp, nudge, est or passes)", s, k)
		}
		if !okFor {
			return o, fmt.Errorf("objective %q: %s does not apply to %s", s, k, o.Loss)
		}
		*dst = f
	}
	return o, o.Validate()
}

// Validate checks the ranges.
func (o Objective) Validate() error {
	switch {
	case o.Loss > CrossEntropy:
		return fmt.Errorf("train: unknown loss %d", o.Loss)
	case !(o.Scale >= 0) || o.Scale > 1e6:
		return fmt.Errorf("train: objective scale %v, want 0 < scale ≤ 1e6", o.Scale)
	case !(o.Nudge >= 0) || o.Nudge > 1e6:
		return fmt.Errorf("train: objective nudge %v, want 0 < nudge ≤ 1e6", o.Nudge)
	case !(o.Eps >= 0) || o.Eps > 1e6:
		return fmt.Errorf("train: objective eps %v, want 0 ≤ eps ≤ 1e6", o.Eps)
	case !(o.Temp >= 0) || o.Temp > 1e6:
		return fmt.Errorf("train: objective temp %v, want 0 < temp ≤ 1e6", o.Temp)
	case o.Warmup < 0 || o.Warmup > 1<<20:
		return fmt.Errorf("train: objective warmup %d, want 0 … 2^20 epochs", o.Warmup)
	case o.Est > Symmetric:
		return fmt.Errorf("train: unknown estimator %d", o.Est)
	case o.Est != Clamp && !o.nudged():
		return fmt.Errorf("train: estimator %s needs a nudged objective (margin or ce)", o.Est)
	case o.Passes < 0 || o.Passes > 1<<16:
		return fmt.Errorf("train: objective passes %d, want 0 … 65536", o.Passes)
	case o.Passes != 0 && !o.nudged():
		return fmt.Errorf("train: objective passes need a nudged objective (margin or ce)")
	}
	return nil
}

// targets computes the clamped phase's targets and the direct gradient of
// the margin terms on the output weights.
type targets struct {
	obj     Objective
	m       *lrrn.Model
	reduced bool      // κ_j from the pairwise norms ‖w_y − w_j‖
	lip     float64   // Π ℓ̄_k over the layers below a reduced output, else all
	pair    []float64 // dL×dL: ‖w_i − w_j‖ (reduced), refreshed per batch
	grad    []float64 // dL: ∇_z ℓ of one example
	kappa   []float64 // dL: κ_j of one example
	direct  []float32 // dL × d_{L−1}: Σ_i ∂ℓ_i/∂W_{L−1} through κ (reduced)
	hasDir  bool
}

func newTargets(m *lrrn.Model, o Objective) (*targets, error) {
	L := m.L()
	dL, dh := m.Sizes[L], m.Sizes[L-1]
	tg := &targets{obj: o, m: m, reduced: m.ReducedOutput(), pair: make([]float64, dL*dL),
		grad: make([]float64, dL), kappa: make([]float64, dL), lip: 1}
	if tg.reduced {
		if o.Est != Clamp {
			return nil, fmt.Errorf("train: objective %s drives the output, which needs a reconstructing output layer (β_%d > 0)", o, L)
		}
		tg.direct = make([]float32, dL*dh)
	}
	for k := 0; k < L; k++ {
		if tg.reduced && k == L-1 {
			continue
		}
		b := m.Beta[k]
		if b == 0 {
			if o.nudged() && o.Eps > 0 {
				return nil, fmt.Errorf("train: objective %s needs a Lipschitz bound of every layer below the output, and layer %d has β = 0 (only a linear output layer may; give it β > 0)", o, k+1)
			}
			continue
		}
		tg.lip *= (1 + b) / (2 * math.Sqrt(b))
	}
	return tg, nil
}

// prepare refreshes the pairwise norms ‖w_i − w_j‖ of the output weights
// (reduced form), once per batch.
func (tg *targets) prepare() {
	if !tg.reduced {
		return
	}
	m := tg.m
	L := m.L()
	dL, dh := m.Sizes[L], m.Sizes[L-1]
	W := m.W[L-1]
	for i := 0; i < dL; i++ {
		for j := i + 1; j < dL; j++ {
			var s float64
			wi, wj := W[i*dh:(i+1)*dh], W[j*dh:(j+1)*dh]
			for c := range wi {
				d := float64(wi[c]) - float64(wj[c])
				s += d * d
			}
			s = math.Sqrt(s)
			tg.pair[i*dL+j], tg.pair[j*dL+i] = s, s
		}
	}
}

// set writes the targets of n examples with labels y and free outputs
// out (n × dL) into tgt, and, for nudged objectives in the reduced form,
// accumulates the direct gradient into tg.direct (zeroed first). eps is
// ε_train now. It returns Σ_i ℓ_i (0 for OneHot).
func (tg *targets) set(tgt, out []float32, y []uint8, n int, eps float64) float64 {
	m := tg.m
	L := m.L()
	dL := m.Sizes[L]
	o := tg.obj
	if !o.nudged() {
		c := float32(o.scale())
		for i := 0; i < n; i++ {
			row := tgt[i*dL : (i+1)*dL]
			clear(row)
			row[y[i]] = c
		}
		return 0
	}
	lipPrefix := tg.lip
	if tg.reduced {
		clear(tg.direct)
		tg.hasDir = false
	}
	alpha := o.nudge()
	var total float64
	for i := 0; i < n; i++ {
		z := out[i*dL : (i+1)*dL]
		yi := int(y[i])
		for j := range tg.kappa {
			switch {
			case j == yi:
				tg.kappa[j] = 0
			case tg.reduced:
				tg.kappa[j] = eps * lipPrefix * tg.pair[yi*dL+j]
			default:
				tg.kappa[j] = math.Sqrt2 * eps * lipPrefix
			}
		}
		total += tg.lossGrad(z, yi)
		row := tgt[i*dL : (i+1)*dL]
		for j, v := range z {
			row[j] = float32(float64(v) - alpha*tg.grad[j])
		}
		if tg.reduced && eps > 0 {
			tg.addDirect(yi, eps*lipPrefix)
		}
	}
	return total
}

// lossGrad sets tg.grad to ∇_z ℓ at output z with label y and margins
// tg.kappa, and returns ℓ.
func (tg *targets) lossGrad(z []float32, y int) float64 {
	g := tg.grad
	clear(g)
	switch tg.obj.Loss {
	case Margin:
		var l float64
		zy := float64(z[y])
		for j, v := range z {
			if j == y {
				continue
			}
			if h := tg.kappa[j] - (zy - float64(v)); h > 0 {
				l += h
				g[j] += 1
				g[y] -= 1
			}
		}
		return l
	case CrossEntropy:
		T := tg.obj.temp()
		mx := math.Inf(-1)
		for j, v := range z {
			mx = max(mx, (float64(v)+tg.kappa[j])/T)
		}
		var s float64
		for j, v := range z {
			e := math.Exp((float64(v)+tg.kappa[j])/T - mx)
			g[j] = e
			s += e
		}
		for j := range g {
			g[j] /= s
		}
		l := -T * math.Log(g[y])
		g[y] -= 1
		return l
	}
	return 0
}

// addDirect adds ∂ℓ/∂W_{L−1} through κ_j = c·‖w_y − w_j‖ for the example
// whose gradient tg.grad holds: ∂ℓ/∂κ_j = ∂ℓ/∂z_j (κ_j and z_j enter
// together), ∂κ_j/∂w_j = c (w_j − w_y)/‖w_j − w_y‖ = −∂κ_j/∂w_y.
func (tg *targets) addDirect(y int, c float64) {
	m := tg.m
	L := m.L()
	dL, dh := m.Sizes[L], m.Sizes[L-1]
	W := m.W[L-1]
	wy := W[y*dh : (y+1)*dh]
	dy := tg.direct[y*dh : (y+1)*dh]
	for j := 0; j < dL; j++ {
		gj := tg.grad[j]
		nrm := tg.pair[y*dL+j]
		if j == y || gj == 0 || nrm == 0 {
			continue
		}
		f := float32(gj * c / nrm)
		wj := W[j*dh : (j+1)*dh]
		dj := tg.direct[j*dh : (j+1)*dh]
		for k := range wj {
			d := f * (wj[k] - wy[k])
			dj[k] += d
			dy[k] -= d
		}
		tg.hasDir = true
	}
}
