package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/lrrn/lrrn/lrrn"
)

// ErrDiverged is returned (wrapped) when a batch produces a non-finite
// energy or weight. The model is left as it was before that batch.
var ErrDiverged = errors.New("training diverged (non-finite loss)")

// Step runs one mini-batch and advances the position; it returns true
// when that batch ended an epoch. On a non-finite loss or weight it
// restores the weights from before the batch and returns ErrDiverged.
func (t *Trainer) Step() (endOfEpoch bool, err error) {
	o := &t.opts
	d := t.data
	D := d.Dim()
	L := t.m.L()
	dL := t.m.Sizes[L]
	i0 := t.batch * o.Batch
	n := min(o.Batch, d.N-i0)
	for r := 0; r < n; r++ {
		src := int(t.perm[i0+r])
		copy(t.x[r*D:(r+1)*D], d.Image(src))
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
	if o.Mode == Supervised && o.Objective.Est == Symmetric {
		coef /= 2 // ½[∂E(z₊) − ∂E(z₋)]
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
		t.pg.setPhase(ui, t.x[u.lo*D:u.hi*D], u.hi-u.lo, u.st, sign, coef)
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
		if t.drive != nil {
			for i, v := range t.tgt[:n*dL] {
				t.drive[i] = v - t.out[i]
			}
		}
		t.run(t.stageClamped)
		if o.Objective.Est == Symmetric {
			if err := t.unitErr(); err != nil {
				return false, err
			}
			for i := range t.drive[:n*dL] {
				t.drive[i] = -t.drive[i]
			}
			t.minus = true // the free units run their −α phase
			t.run(t.stageFree)
			t.minus = false
		}
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
	t.grad.zero()
	t.run(t.stageUpdate)
	if !allTrue(t.finite) {
		t.restore()
		return false, fmt.Errorf("train: epoch %d, batch %d: non-finite weights: %w", t.epoch+1, t.batch+1, ErrDiverged)
	}
	t.solver.RefreshParallel(t.workers, t.run)
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

// infer runs unit ui's inference and prepares its gradient blocks.
func (t *Trainer) infer(ui int) {
	u := &t.units[ui]
	D := t.data.Dim()
	n := u.hi - u.lo
	x := t.x[u.lo*D : u.hi*D]
	P := t.opts.Passes
	P2 := P // the phases that start from the free states
	if p := t.opts.Objective.Passes; p > 0 {
		P2 = p
	}
	dL := t.m.Sizes[t.m.L()]
	est := t.opts.Objective.Est
	switch {
	case t.minus:
		// Symmetric's −α phase, from the unit's own free states
		u.err = t.solver.FreeDrivenFrom(u.ws, x, t.drive[u.lo*dL:u.hi*dL], n, P2, u.st)
	case u.clamped && t.drive != nil:
		// the +α phase, from the free states of the same rows
		copyStates(u.st, t.units[ui-len(t.units)/2].st, t.m.Sizes, n)
		u.err = t.solver.FreeDrivenFrom(u.ws, x, t.drive[u.lo*dL:u.hi*dL], n, P2, u.st)
	case u.clamped:
		tg := t.tgt[u.lo*dL : u.hi*dL]
		if t.opts.Objective.nudged() {
			// the target is a nudge of the free output: start from the
			// free states of the same rows (unit ui − len/2)
			copyStates(u.st, t.units[ui-len(t.units)/2].st, t.m.Sizes, n)
			u.err = t.solver.ClampedFrom(u.ws, x, tg, n, P2, u.st)
		} else {
			u.err = t.solver.Clamped(u.ws, x, tg, n, P, u.st)
		}
	default:
		u.err = t.solver.Free(u.ws, x, n, P, u.st)
		if est == Symmetric {
			return // the −α phase replaces these states before the gradient
		}
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
