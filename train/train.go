// Package train trains LRRNs: supervised contrastive training (free and
// clamped states, docs/math.md "Training") and unsupervised training of
// the free energy, by mini-batch SGD with weight decay, deterministic for a
// given seed and worker count. docs/training.md gives the conventions and
// the measurements behind them.
//
// New builds a Trainer, which updates the model in place; Run trains it for
// a number of epochs, evaluating (Evaluate) and writing a checkpoint after
// each as its RunConfig asks, and RunEpoch and Step train by the epoch or
// the mini-batch. A
// checkpoint is a model file whose note holds the training State: to
// resume, LoadCheckpoint, New with State.Options, Trainer.Resume, then Run.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
)

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
	data    *idx.Labelled
	opts    Options
	solver  *lrrn.Solver
	units   []unit
	pg      *paramGrad
	grad    *gradient
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
	decay, lr               float32

	tg       *targets
	out      []float32 // batch × d_L free outputs, for nudged targets
	drive    []float32 // batch × d_L: the driven phase's u = t − ž_L = −α∇ℓ (Drive, Symmetric)
	minus    bool      // Symmetric: the free units are in their −α phase
	dirScale float32   // factor of tg.direct in the gradient
	objLoss  float64   // Σ ℓ of the epoch so far (nudged objectives) …
	objN     int       // … over this many examples
	lastObj  float64
}

// New returns a trainer that updates m in place on the images and labels
// d (the labels are ignored by unsupervised training). d must hold m's
// input size of pixels per image and, for supervised training, labels
// below m's output size.
func New(m *lrrn.Model, d *idx.Labelled, o Options) (*Trainer, error) {
	o, err := resolve(m, d, o)
	if err != nil {
		return nil, err
	}
	L := m.L()
	s, err := lrrn.NewSolver(m)
	if err != nil {
		return nil, err
	}
	sweeps := o.Sweeps
	if sweeps == 0 {
		sweeps = 1
	}
	if err := s.SetSweeps(sweeps); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	s.Refresh() // every step uses Refresh's arithmetic, also the first
	t := &Trainer{m: m, data: d, opts: o, solver: s, workers: o.Workers}
	t.buildUnits()
	phases := len(t.units)
	t.pg = newParamGrad(m, phases, o.Batch, o.Mode == Supervised && phases == 2)
	t.grad = newGradient(&m.Config)
	t.backup = m.Clone()
	t.perm = make([]int32, d.N)
	t.x = make([]float32, o.Batch*d.Dim())
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
	if o.Mode == Supervised {
		if t.tg, err = newTargets(m, o.Objective); err != nil {
			return nil, err
		}
		t.out = make([]float32, o.Batch*m.Sizes[L])
		if o.Objective.Est != Clamp {
			t.drive = make([]float32, o.Batch*m.Sizes[L])
		}
	}
	if t.workers > 1 {
		t.pool = newPool(t.workers)
	}
	t.shuffle()
	return t, nil
}

// resolve checks that o can train m on d and returns o with its defaults
// resolved (Workers; SplitBatch for a nudged objective).
func resolve(m *lrrn.Model, d *idx.Labelled, o Options) (Options, error) {
	if err := m.Validate(); err != nil {
		return o, err
	}
	if err := checkData(m, d, "training data"); err != nil {
		return o, err
	}
	L := m.L()
	if o.Mode == Supervised {
		if m.Sizes[L] < 2 {
			return o, fmt.Errorf("train: supervised training needs an output layer of ≥ 2 classes, got %d", m.Sizes[L])
		}
		for i, y := range d.Labels {
			if int(y) >= m.Sizes[L] {
				return o, fmt.Errorf("train: label %d of input %d is not below the output size %d", y, i, m.Sizes[L])
			}
		}
		if L < 2 {
			return o, fmt.Errorf("train: supervised training needs at least one hidden layer")
		}
	} else if o.Mode != Unsupervised {
		return o, fmt.Errorf("train: unknown mode %d", o.Mode)
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) {
		return o, fmt.Errorf("train: learning rate %v, want a finite value > 0", o.LR)
	}
	if !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0) {
		return o, fmt.Errorf("train: weight decay %v, want a finite value ≥ 0", o.WeightDecay)
	}
	if !(o.Convention.DecayScale >= 0) || math.IsInf(o.Convention.DecayScale, 0) {
		return o, fmt.Errorf("train: decay scale %v, want a finite value ≥ 0", o.Convention.DecayScale)
	}
	if o.Batch < 1 || o.Batch > d.N {
		return o, fmt.Errorf("train: batch size %d, want 1 … %d (the data set's size)", o.Batch, d.N)
	}
	if o.Passes < 1 || o.Passes > 1<<16 {
		return o, fmt.Errorf("train: %d passes, want 1 … 65536", o.Passes)
	}
	if o.Workers < 0 || o.Workers > 256 {
		return o, fmt.Errorf("train: %d workers, want 0 … 256", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = min(2, runtime.GOMAXPROCS(0))
	}
	if err := o.Objective.Validate(); err != nil {
		return o, err
	}
	if o.Mode == Unsupervised && o.Objective != (Objective{}) {
		return o, errors.New("train: an objective applies to supervised training only")
	}
	if o.Schedule > Cosine {
		return o, fmt.Errorf("train: unknown schedule %d", o.Schedule)
	}
	if o.Schedule == Cosine && o.Epochs < 1 {
		return o, errors.New("train: the cosine schedule needs the run's length (Options.Epochs ≥ 1)")
	}
	if o.Epochs < 0 {
		return o, fmt.Errorf("train: %d epochs, want ≥ 0", o.Epochs)
	}
	if o.Objective.nudged() {
		// the clamped phase needs the free outputs first
		o.SplitBatch = true
	}
	return o, nil
}

// checkData checks the shapes of d (idx.Labelled.Validate) and that its
// images have as many pixels as m's first layer has units; what names d
// in the error.
func checkData(m *lrrn.Model, d *idx.Labelled, what string) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("train: %s: %w", what, err)
	}
	if d.Dim() != m.Sizes[0] {
		return fmt.Errorf("train: %s: images of %d×%d = %d pixels, the model's first layer %d units", what, d.Rows, d.Cols, d.Dim(), m.Sizes[0])
	}
	return nil
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

// LastEpochLoss returns the mean loss of the last completed epoch.
func (t *Trainer) LastEpochLoss() float64 { return t.lastLoss }

// LastEpochObjective returns the mean output loss ℓ of the last completed
// epoch for nudged objectives (0 otherwise).
func (t *Trainer) LastEpochObjective() float64 { return t.lastObj }

// Resume sets t to the position a checkpoint's state records, the next
// batch and the loss so far of the epoch in progress, so that training goes
// on exactly as the run that wrote the checkpoint would have. Build t with
// st.Options() on the checkpoint's model (LoadCheckpoint), then Resume.
func (t *Trainer) Resume(st *State) error {
	epoch, batch, lossSum, lossN := st.Epoch, st.Batch, st.LossSum, st.LossN
	if epoch < 0 || batch < 0 || batch > t.Batches() {
		return fmt.Errorf("train: position epoch %d batch %d out of range (%d batches per epoch)", epoch, batch, t.Batches())
	}
	if st.ObjN < 0 || st.ObjN > st.LossN || math.IsNaN(st.ObjSum) || math.IsInf(st.ObjSum, 0) {
		return fmt.Errorf("train: objective sums %v over %d examples out of range (%d losses)", st.ObjSum, st.ObjN, st.LossN)
	}
	t.epoch, t.batch, t.lossSum, t.lossN = epoch, batch, lossSum, lossN
	t.objLoss, t.objN = st.ObjSum, st.ObjN
	if t.batch == t.Batches() {
		t.epoch, t.batch, t.lossSum, t.lossN = epoch+1, 0, 0, 0
		t.objLoss, t.objN = 0, 0
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
