// Package train trains LRRNs: supervised contrastive training (free and
// clamped states, docs/math.md "Training") and unsupervised training of
// the free energy, by mini-batch SGD with weight decay, deterministic for a
// given seed and worker count. docs/training.md gives the conventions and
// the measurements behind them.
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"

	"github.com/lrrn/lrrn/lrrn"
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

// Data is a labelled image set: N inputs of D values in [0,1], input-major.
type Data struct {
	X      []float32
	Labels []uint8
	N, D   int
}

// Validate checks the shapes.
func (d *Data) Validate() error {
	if d == nil || d.N <= 0 || d.D <= 0 {
		return errors.New("train: empty data set")
	}
	if len(d.X) != d.N*d.D {
		return fmt.Errorf("train: data has %d values for %d inputs of %d", len(d.X), d.N, d.D)
	}
	if len(d.Labels) != d.N {
		return fmt.Errorf("train: data has %d labels for %d inputs", len(d.Labels), d.N)
	}
	return nil
}

// ErrDiverged is returned (wrapped) when a batch produces a non-finite
// energy or weight. The model is left as it was before that batch.
var ErrDiverged = errors.New("training diverged (non-finite loss)")

// unit is one piece of a batch's inference: a phase (free or clamped) over
// a range of the batch's inputs, run by one goroutine.
type unit struct {
	clamped bool
	lo, hi  int // rows of the batch
	ws      *lrrn.Workspace
	st      *lrrn.States
	err     error
}

// Trainer runs SGD on one model. It is not safe for concurrent use.
type Trainer struct {
	m       *lrrn.Model
	data    *Data
	opts    Options
	solver  *lrrn.Solver
	units   []unit
	pg      *paramGrad
	grad    *Grad
	backup  *lrrn.Model // the weights before the current step, for divergence
	perm    []int32
	x, tgt  []float32
	lab     []uint8
	coef    float32
	workers int
	pool    *pool

	epoch, batch int // position: next batch `batch` of epoch `epoch` (0-based)
	lossSum      float64
	lossN        int
	lastLoss     float64
	finite       []bool // per worker: the last update left finite weights

	// Made once in New so that a step does not allocate.
	pcg                     *rand.PCG
	rng                     *rand.Rand
	swap                    func(i, j int)
	stageInfer, stageUpdate func(w int)
	stageFree, stageClamped func(w int)
	stageRefresh            func(w int)
	decay, lr               float32

	tg       *targets
	out      []float32 // batch × d_L free outputs, for nudged targets
	dirScale float32   // factor of tg.direct in the gradient
	objLoss  float64   // Σ ℓ of the epoch so far (nudged objectives) …
	objN     int       // … over this many examples (since a resume)
	lastObj  float64
}

// New returns a trainer that updates m in place on data d.
func New(m *lrrn.Model, d *Data, o Options) (*Trainer, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if d.D != m.Sizes[0] {
		return nil, fmt.Errorf("train: inputs have %d values, the model's first layer %d", d.D, m.Sizes[0])
	}
	L := m.L()
	if o.Mode == Supervised {
		if m.Sizes[L] < 2 {
			return nil, fmt.Errorf("train: supervised training needs an output layer of ≥ 2 classes, got %d", m.Sizes[L])
		}
		for i, y := range d.Labels {
			if int(y) >= m.Sizes[L] {
				return nil, fmt.Errorf("train: label %d of input %d is not below the output size %d", y, i, m.Sizes[L])
			}
		}
		if L < 2 {
			return nil, fmt.Errorf("train: supervised training needs at least one hidden layer")
		}
	} else if o.Mode != Unsupervised {
		return nil, fmt.Errorf("train: unknown mode %d", o.Mode)
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) {
		return nil, fmt.Errorf("train: learning rate %v, want a finite value > 0", o.LR)
	}
	if !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0) {
		return nil, fmt.Errorf("train: weight decay %v, want a finite value ≥ 0", o.WeightDecay)
	}
	if !(o.Convention.DecayScale >= 0) || math.IsInf(o.Convention.DecayScale, 0) {
		return nil, fmt.Errorf("train: decay scale %v, want a finite value ≥ 0", o.Convention.DecayScale)
	}
	if o.Batch < 1 || o.Batch > d.N {
		return nil, fmt.Errorf("train: batch size %d, want 1 … %d (the data set's size)", o.Batch, d.N)
	}
	if o.Passes < 1 || o.Passes > 1<<16 {
		return nil, fmt.Errorf("train: %d passes, want 1 … 65536", o.Passes)
	}
	if o.Workers < 0 || o.Workers > 256 {
		return nil, fmt.Errorf("train: %d workers, want 0 … 256", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = min(2, runtime.GOMAXPROCS(0))
	}
	if err := o.Objective.Validate(); err != nil {
		return nil, err
	}
	if o.Mode == Unsupervised && o.Objective != (Objective{}) {
		return nil, errors.New("train: an objective applies to supervised training only")
	}
	if o.Schedule > Cosine {
		return nil, fmt.Errorf("train: unknown schedule %d", o.Schedule)
	}
	if o.Schedule == Cosine && o.Epochs < 1 {
		return nil, errors.New("train: the cosine schedule needs the run's length (Options.Epochs ≥ 1)")
	}
	if o.Epochs < 0 {
		return nil, fmt.Errorf("train: %d epochs, want ≥ 0", o.Epochs)
	}
	if o.Objective.nudged() {
		// the clamped phase needs the free outputs first
		o.SplitBatch = true
	}
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return nil, err
	}
	s.Refresh() // every step uses Refresh's arithmetic, also the first
	t := &Trainer{m: m, data: d, opts: o, solver: s, workers: o.Workers}
	t.buildUnits()
	phases := len(t.units)
	t.pg = newParamGrad(m, phases, o.Batch, o.Mode == Supervised && phases == 2)
	t.grad = NewGrad(&m.Config)
	t.backup = m.Clone()
	t.perm = make([]int32, d.N)
	t.x = make([]float32, o.Batch*d.D)
	t.tgt = make([]float32, o.Batch*m.Sizes[L])
	t.lab = make([]uint8, o.Batch)
	t.coef = 1
	if o.Mode == Supervised && o.Convention.GammaDiv {
		t.coef = float32(1 / math.Pow(m.Gamma, float64(L-1)))
	}
	t.finite = make([]bool, t.workers)
	t.pcg = rand.NewPCG(0, 0)
	t.rng = rand.New(t.pcg)
	t.swap = func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] }
	t.stageInfer = func(w int) {
		for ui := w; ui < len(t.units); ui += t.workers {
			t.infer(ui)
		}
	}
	t.stageUpdate = func(w int) {
		t.pg.accumulate(t.grad, w, t.workers)
		t.addDirect(w, t.workers)
		t.finite[w] = t.update(w, t.workers, t.decay, t.lr)
	}
	t.stageFree = func(w int) { t.inferKind(w, false) }
	t.stageClamped = func(w int) { t.inferKind(w, true) }
	t.stageRefresh = func(w int) { t.solver.RefreshGrams(w, t.workers) }
	if o.Mode == Supervised {
		if t.tg, err = newTargets(m, o.Objective); err != nil {
			return nil, err
		}
		t.out = make([]float32, o.Batch*m.Sizes[L])
	}
	if t.workers > 1 {
		t.pool = newPool(t.workers)
	}
	t.shuffle()
	return t, nil
}

// minChunk is the smallest piece of a batch that unsupervised training
// gives a worker of its own.
const minChunk = 16

// buildUnits splits a batch's inference into units: supervised, the free
// and the clamped phase of the whole batch (they run in parallel with two
// workers; a unit update across the batch is one vector operation, so
// halving the batch would not halve the time), then with more workers each
// phase is split into row ranges; unsupervised, the free phase split into
// up to `workers` row ranges of at least minChunk inputs. The gradient
// products, the update and the solver refresh are split across all
// workers by rows in either case.
func (t *Trainer) buildUnits() {
	B := t.opts.Batch
	chunks := t.workers
	var kinds []bool
	if t.opts.Mode == Supervised {
		kinds = []bool{false, true}
		if !t.opts.SplitBatch {
			chunks = max(1, t.workers/2)
		}
	} else {
		kinds = []bool{false}
		// A unit update across a tile is one vector operation of up to
		// 16 lanes: halving a small batch does not halve its cost, so a
		// batch is split only into pieces of at least minChunk inputs.
		chunks = min(chunks, max(1, B/minChunk))
	}
	chunks = min(chunks, B)
	for _, clamped := range kinds {
		for c := 0; c < chunks; c++ {
			u := unit{clamped: clamped, lo: c * B / chunks, hi: (c + 1) * B / chunks}
			u.ws = t.solver.NewWorkspace()
			u.st = t.solver.NewStates(u.hi - u.lo)
			t.units = append(t.units, u)
		}
	}
}

// Model returns the model being trained (updated in place).
func (t *Trainer) Model() *lrrn.Model { return t.m }

// Options returns the options in force (Workers resolved).
func (t *Trainer) Options() Options { return t.opts }

// Position returns the next batch: batch `batch` of epoch `epoch`, both
// 0-based; batch 0 means the epoch has not started.
func (t *Trainer) Position() (epoch, batch int) { return t.epoch, t.batch }

// Batches returns the number of mini-batches per epoch.
func (t *Trainer) Batches() int { return (t.data.N + t.opts.Batch - 1) / t.opts.Batch }

// EpochLoss returns the sum and count of the per-example losses of the
// current epoch so far (J for supervised, F for unsupervised training).
func (t *Trainer) EpochLoss() (sum float64, n int) { return t.lossSum, t.lossN }

// Seek sets the position and the current epoch's loss accumulators, to
// resume from a checkpoint written at that position.
func (t *Trainer) Seek(epoch, batch int, lossSum float64, lossN int) error {
	if epoch < 0 || batch < 0 || batch > t.Batches() {
		return fmt.Errorf("train: position epoch %d batch %d out of range (%d batches per epoch)", epoch, batch, t.Batches())
	}
	t.epoch, t.batch, t.lossSum, t.lossN = epoch, batch, lossSum, lossN
	if t.batch == t.Batches() {
		t.epoch, t.batch, t.lossSum, t.lossN = epoch+1, 0, 0, 0
	}
	t.shuffle()
	return t.solver.Reset(t.m)
}

// shuffle sets perm to the permutation of epoch t.epoch: a function of the
// seed and the epoch only, so that resuming needs no generator state.
func (t *Trainer) shuffle() {
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	t.pcg.Seed(t.opts.Seed, 0x5348554646000000^uint64(t.epoch))
	t.rng.Shuffle(len(t.perm), t.swap)
}

// Step runs one mini-batch and advances the position; it returns true
// when that batch ended an epoch. On a non-finite loss or weight it
// restores the weights from before the batch and returns ErrDiverged.
func (t *Trainer) Step() (endOfEpoch bool, err error) {
	o := &t.opts
	d := t.data
	L := t.m.L()
	dL := t.m.Sizes[L]
	i0 := t.batch * o.Batch
	n := min(o.Batch, d.N-i0)
	for r := 0; r < n; r++ {
		src := int(t.perm[i0+r])
		copy(t.x[r*d.D:(r+1)*d.D], d.X[src*d.D:(src+1)*d.D])
		if o.Mode == Supervised {
			t.lab[r] = d.Labels[src]
		}
	}
	frac := float64(t.batch) / float64(t.Batches())
	t.setRate(frac)
	if o.Mode == Supervised && !o.Objective.nudged() {
		t.tg.set(t.tgt[:n*dL], nil, t.lab[:n], n, 0)
	}
	coef := t.coef
	if !o.Convention.Sum {
		coef /= float32(n)
	}
	// Units cover row ranges of a full batch; a short last batch shrinks them.
	for ui := range t.units {
		u := &t.units[ui]
		chunks := len(t.units)
		if o.Mode == Supervised {
			chunks /= 2
		}
		c := ui % chunks
		u.lo, u.hi = c*n/chunks, (c+1)*n/chunks
		sign := float32(1)
		if o.Mode == Supervised && !u.clamped {
			sign = -1
		}
		t.pg.setPhase(ui, t.x[u.lo*d.D:u.hi*d.D], u.hi-u.lo, u.st, sign, coef)
	}
	var objLoss float64
	if o.Mode == Supervised && o.Objective.nudged() {
		t.run(t.stageFree)
		if err := t.unitErr(); err != nil {
			return false, err
		}
		for ui := range t.units {
			if u := &t.units[ui]; !u.clamped {
				for i := u.lo; i < u.hi; i++ {
					copy(t.out[i*dL:(i+1)*dL], u.st.Output(i-u.lo))
				}
			}
		}
		t.tg.prepare()
		objLoss = t.tg.set(t.tgt[:n*dL], t.out[:n*dL], t.lab[:n], n, o.Objective.EpsAt(t.epoch, frac))
		t.run(t.stageClamped)
	} else {
		t.run(t.stageInfer)
	}
	if err := t.unitErr(); err != nil {
		return false, err
	}
	t.dirScale = 0
	if t.tg != nil && t.tg.hasDir {
		t.dirScale = coef * float32(math.Pow(t.m.Gamma, float64(L-1))*o.Objective.nudge())
	}
	// Loss: Σ_u sign_u Σ_i E, per example (÷ γ^{L−1} for J).
	var loss float64
	for ui := range t.units {
		s := float64(t.pg.signs[ui])
		for _, e := range t.pg.energy[ui][:t.pg.n[ui]] {
			loss += s * e
		}
	}
	if o.Mode == Supervised {
		loss /= math.Pow(t.m.Gamma, float64(L-1))
	}
	if !t.pg.finite() || math.IsNaN(loss) || math.IsInf(loss, 0) {
		return false, fmt.Errorf("train: epoch %d, batch %d: %w", t.epoch+1, t.batch+1, ErrDiverged)
	}
	t.grad.Zero()
	t.run(t.stageUpdate)
	if !allTrue(t.finite) {
		t.restore()
		return false, fmt.Errorf("train: epoch %d, batch %d: non-finite weights: %w", t.epoch+1, t.batch+1, ErrDiverged)
	}
	t.run(t.stageRefresh)
	t.solver.RefreshAssemble()
	t.lossSum += loss
	t.objLoss += objLoss
	t.objN += n
	t.lossN += n
	t.batch++
	if t.batch == t.Batches() {
		t.lastLoss = t.lossSum / float64(t.lossN)
		t.lastObj = t.objLoss / float64(t.objN)
		t.objLoss, t.objN = 0, 0
		t.epoch++
		t.batch, t.lossSum, t.lossN = 0, 0, 0
		t.shuffle()
		return true, nil
	}
	return false, nil
}

// LastEpochLoss returns the mean loss of the last completed epoch.
func (t *Trainer) LastEpochLoss() float64 { return t.lastLoss }

func (t *Trainer) unitErr() error {
	for ui := range t.units {
		if err := t.units[ui].err; err != nil {
			return err
		}
	}
	return nil
}

// inferKind runs worker w's share of the free (clamped false) or clamped
// units.
func (t *Trainer) inferKind(w int, clamped bool) {
	k := 0
	for ui := range t.units {
		if t.units[ui].clamped != clamped {
			continue
		}
		if k%t.workers == w {
			t.infer(ui)
		}
		k++
	}
}

// copyStates makes dst a copy of the first n inputs of src (dst has room:
// both were made for the same rows).
func copyStates(dst, src *lrrn.States, sizes []int, n int) {
	dst.N = n
	for k := 1; k < len(sizes); k++ {
		dst.Z[k] = append(dst.Z[k][:0], src.Z[k][:n*sizes[k]]...)
	}
}

// setRate sets the step's learning rate and decay factor from the schedule
// at fraction frac of the current epoch.
func (t *Trainer) setRate(frac float64) {
	o := &t.opts
	lr := o.LR
	if o.Schedule == Cosine {
		p := min(1, (float64(t.epoch)+frac)/float64(o.Epochs))
		lr *= 0.5 * (1 + math.Cos(math.Pi*p))
	}
	t.lr = float32(lr)
	t.decay = float32(1 - lr*o.WeightDecay*o.Convention.DecayScale)
}

// addDirect adds the objective's direct gradient of the output weights
// (rows part/parts of layer L−1) to the batch gradient.
func (t *Trainer) addDirect(part, parts int) {
	if t.dirScale == 0 {
		return
	}
	L := t.m.L()
	du, dl := t.m.Sizes[L], t.m.Sizes[L-1]
	lo, hi := part*du/parts, (part+1)*du/parts
	g, d := t.grad.W[L-1][lo*dl:hi*dl], t.tg.direct[lo*dl:hi*dl]
	for i, v := range d {
		g[i] += t.dirScale * v
	}
}

// LastEpochObjective returns the mean output loss ℓ of the last completed
// epoch for nudged objectives (0 otherwise).
func (t *Trainer) LastEpochObjective() float64 { return t.lastObj }

// infer runs unit ui's inference and prepares its gradient blocks.
func (t *Trainer) infer(ui int) {
	u := &t.units[ui]
	d := t.data
	n := u.hi - u.lo
	x := t.x[u.lo*d.D : u.hi*d.D]
	P := t.opts.Passes
	if u.clamped {
		dL := t.m.Sizes[t.m.L()]
		tg := t.tgt[u.lo*dL : u.hi*dL]
		if t.opts.Objective.nudged() {
			// the target is a nudge of the free output: start from the
			// free states of the same rows (unit ui − len/2)
			copyStates(u.st, t.units[ui-len(t.units)/2].st, t.m.Sizes, n)
			u.err = t.solver.ClampedFrom(u.ws, x, tg, n, P, u.st)
		} else {
			u.err = t.solver.Clamped(u.ws, x, tg, n, P, u.st)
		}
	} else {
		u.err = t.solver.Free(u.ws, x, n, P, u.st)
	}
	if u.err == nil {
		t.pg.preparePhase(ui)
	}
}

// update applies the SGD step to rows part/parts of every layer, keeping
// a copy of the old values for restore, and reports whether the new values
// are all finite.
func (t *Trainer) update(part, parts int, decay, lr float32) bool {
	m := t.m
	var bad float32 // v − v is 0 for finite v and NaN otherwise
	for k := 0; k < m.L(); k++ {
		du, dl := m.Sizes[k+1], m.Sizes[k]
		lo, hi := part*du/parts, (part+1)*du/parts
		W, G, Bk := m.W[k][lo*dl:hi*dl], t.grad.W[k][lo*dl:hi*dl], t.backup.W[k][lo*dl:hi*dl]
		copy(Bk, W)
		for i, g := range G {
			v := decay*W[i] - lr*g
			if v > -0x1p-126 && v < 0x1p-126 {
				// flush subnormals to zero: weights of always-zero input
				// pixels decay geometrically into the subnormal range, where
				// every product with them is many times slower on x86
				v = 0
			}
			W[i] = v
			bad += v - v
		}
		b, gb := m.B[k][lo:hi], t.grad.B[k][lo:hi]
		copy(t.backup.B[k][lo:hi], b)
		for i, g := range gb {
			v := b[i] - lr*g
			b[i] = v
			bad += v - v
		}
	}
	return bad == 0
}

func allTrue(v []bool) bool {
	for _, b := range v {
		if !b {
			return false
		}
	}
	return true
}

func (t *Trainer) restore() {
	for k := range t.m.W {
		copy(t.m.W[k], t.backup.W[k])
		copy(t.m.B[k], t.backup.B[k])
	}
	t.solver.Refresh()
}

// run calls f(w) for w = 0 … workers−1, in parallel when there is a pool.
func (t *Trainer) run(f func(w int)) {
	if t.pool == nil {
		for w := 0; w < t.workers; w++ {
			f(w)
		}
		return
	}
	t.pool.run(f)
}

// Close stops the trainer's goroutines.
func (t *Trainer) Close() {
	if t.pool != nil {
		t.pool.close()
		t.pool = nil
	}
}

// Progress is reported after every batch.
type Progress struct {
	Epoch, Batch, Batches int // 1-based epoch, batches done in it, batches per epoch
	Examples              int // examples done in this epoch
	RunningLoss           float64
}

// RunEpoch runs the rest of the current epoch, calling progress (if not
// nil) after each batch, and returns the epoch's mean loss. It stops
// between batches when ctx is done, returning ctx.Err(); the position then
// says where to resume.
func (t *Trainer) RunEpoch(ctx context.Context, progress func(Progress)) (float64, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		end, err := t.Step()
		if err != nil {
			return 0, err
		}
		if end {
			if progress != nil {
				progress(Progress{Epoch: t.epoch, Batch: t.Batches(), Batches: t.Batches(),
					Examples: t.data.N, RunningLoss: t.lastLoss})
			}
			return t.lastLoss, nil
		}
		if progress != nil {
			progress(Progress{Epoch: t.epoch + 1, Batch: t.batch, Batches: t.Batches(),
				Examples: t.lossN, RunningLoss: t.lossSum / float64(t.lossN)})
		}
	}
}

// pool is a fixed set of goroutines that run one function each per call,
// with a barrier at the end: the stages of a step.
type pool struct {
	n    int
	work []chan func(int)
	wg   sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{n: n, work: make([]chan func(int), n)}
	for w := 1; w < n; w++ {
		p.work[w] = make(chan func(int))
		go func(w int, c chan func(int)) {
			for f := range c {
				f(w)
				p.wg.Done()
			}
		}(w, p.work[w])
	}
	return p
}

func (p *pool) run(f func(int)) {
	p.wg.Add(p.n - 1)
	for w := 1; w < p.n; w++ {
		p.work[w] <- f
	}
	f(0)
	p.wg.Wait()
}

func (p *pool) close() {
	for w := 1; w < p.n; w++ {
		close(p.work[w])
	}
}
