package train

import (
	"fmt"
	"math"
	"strings"
)

// Mode selects the objective.
type Mode uint8

// The training objectives.
const (
	// Supervised minimises the contrastive loss
	// J = (E(ẑ) − E(ž)) / γ^{L−1} with the output clamped to onehot(y).
	Supervised Mode = iota
	// Unsupervised minimises the free energy F(x) = min_z E(z; x).
	Unsupervised
)

func (m Mode) String() string {
	if m == Unsupervised {
		return "unsupervised"
	}
	return "supervised"
}

// Convention fixes how the batch gradient and the weight decay are scaled
// (docs/training.md). One SGD step is
//
//	W ← W − η·(coef·Σ_i ∇_W e_i + λ·DecayScale·W),    b ← b − η·coef·Σ_i ∇_b e_i
//
// where e_i is the example's energy difference (supervised:
// E(ẑ_i) − E(ž_i); unsupervised: E(ž_i)) and coef = 1/n for a mean (Sum
// false) or 1 for a sum, times 1/γ^{L−1} when GammaDiv is set (supervised
// only). For plain SGD, "decay added to the gradient" and "decoupled decay
// W ← (1−ηλ)W" are the same step, so DecayScale is the only degree of
// freedom of the decay.
type Convention struct {
	Sum        bool
	GammaDiv   bool
	DecayScale float64
}

// DefaultConvention is the convention chosen in docs/training.md.
var DefaultConvention = Convention{Sum: false, GammaDiv: false, DecayScale: 1}

func (c Convention) String() string {
	var b strings.Builder
	if c.Sum {
		b.WriteString("sum")
	} else {
		b.WriteString("mean")
	}
	if c.GammaDiv {
		b.WriteString(",gamma")
	}
	if c.DecayScale != 1 {
		fmt.Fprintf(&b, ",decay=%g", c.DecayScale)
	}
	return b.String()
}

// ParseConvention parses the form String writes: "mean" or "sum",
// optionally followed by ",gamma" and ",decay=S".
func ParseConvention(s string) (Convention, error) {
	c := Convention{DecayScale: 1}
	parts := strings.Split(strings.TrimSpace(s), ",")
	switch parts[0] {
	case "mean":
	case "sum":
		c.Sum = true
	default:
		return c, fmt.Errorf("convention %q: want mean or sum first, e.g. \"mean\", \"sum,gamma\", \"mean,decay=10\"", s)
	}
	for _, p := range parts[1:] {
		switch {
		case p == "gamma":
			c.GammaDiv = true
		case strings.HasPrefix(p, "decay="):
			var v float64
			if _, err := fmt.Sscanf(p[len("decay="):], "%g", &v); err != nil || !(v >= 0) || math.IsInf(v, 0) {
				return c, fmt.Errorf("convention %q: decay scale %q is not a finite number ≥ 0", s, p[len("decay="):])
			}
			c.DecayScale = v
		default:
			return c, fmt.Errorf("convention %q: unknown part %q (want gamma or decay=S)", s, p)
		}
	}
	return c, nil
}

// Options are the hyperparameters of a run.
type Options struct {
	Mode        Mode
	LR          float64 // η > 0
	Batch       int     // mini-batch size ≥ 1
	WeightDecay float64 // λ ≥ 0, on the weights only (not the biases)
	Passes      int     // BCD passes per phase ≥ 1
	Sweeps      int     // Gauss–Seidel sweeps per block and pass (lrrn.Solver.SetSweeps); 0 means 1
	Seed        uint64  // shuffling seed
	Workers     int     // goroutines; 0 means min(2, GOMAXPROCS)
	Convention  Convention
	// SplitBatch makes supervised training split each phase's batch across
	// the workers (data parallelism) instead of running the free and the
	// clamped phase in parallel. Both are the same algorithm; the default
	// is faster for small batches (docs/training.md, "Two cores").
	SplitBatch bool
	// Objective is the supervised output objective; the zero value is the
	// paper's (clamp to onehot(y)). Objectives whose target depends on the
	// free state (Margin, CrossEntropy) run the free phase before the
	// clamped one, each split across the workers.
	Objective Objective
	// Schedule is the learning-rate schedule; Cosine needs Epochs.
	Schedule Schedule
	// Epochs is the run's length in epochs, for the schedule (0: none).
	Epochs int
}

// Schedule is a learning-rate schedule.
type Schedule uint8

// The schedules.
const (
	// Constant keeps η.
	Constant Schedule = iota
	// Cosine decays η to 0 over Options.Epochs: η·½(1 + cos(π·t/Epochs))
	// at epoch position t (fractional, per batch).
	Cosine
)

func (s Schedule) String() string {
	if s == Cosine {
		return "cosine"
	}
	return "constant"
}

// ParseSchedule parses "constant" or "cosine".
func ParseSchedule(s string) (Schedule, error) {
	switch s {
	case "constant", "":
		return Constant, nil
	case "cosine":
		return Cosine, nil
	}
	return Constant, fmt.Errorf("schedule %q: want constant or cosine", s)
}
