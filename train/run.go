package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/verify"
)

// EpochRecord is the evaluation after one epoch. Fields that do not apply
// (accuracy and margins of unsupervised training) are NaN, which JSON
// stores as null.
type EpochRecord struct {
	Epoch        int     `json:"epoch"`
	Loss         float64 `json:"loss"`                   // mean training loss: J (supervised) or F (unsupervised)
	TestLoss     float64 `json:"test_loss"`              // unsupervised: mean free energy of the test set
	Accuracy     float64 `json:"acc"`                    // test accuracy
	Rho          float64 `json:"rho"`                    // ρ, sound (σ_min and σ_max)
	RhoEstimate  float64 `json:"rho_estimate_not_sound"` // the paper's ρ, from power-iteration σ_max only
	MeanMargin   float64 `json:"mean_m"`
	MedianMargin float64 `json:"median_m"`
	MedianDelta  float64 `json:"median_delta"`
	MedianRadius float64 `json:"median_radius"` // median certified radius (verify)
	Seconds      float64 `json:"secs"`          // training time of the epoch
	// Certified accuracies at the radii CertRadii (0.5, 1.0, 1.58).
	Cert05  float64 `json:"cert_0.5"`
	Cert10  float64 `json:"cert_1.0"`
	Cert158 float64 `json:"cert_1.58"`
	ObjLoss float64 `json:"obj_loss"` // mean output loss ℓ of a nudged objective
}

func (r EpochRecord) MarshalJSON() ([]byte, error) {
	type plain EpochRecord
	p := plain(r)
	// JSON has no NaN: store null via pointers.
	f := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Epoch        int      `json:"epoch"`
		Loss         *float64 `json:"loss"`
		TestLoss     *float64 `json:"test_loss"`
		Accuracy     *float64 `json:"acc"`
		Rho          *float64 `json:"rho"`
		RhoEstimate  *float64 `json:"rho_estimate_not_sound"`
		MeanMargin   *float64 `json:"mean_m"`
		MedianMargin *float64 `json:"median_m"`
		MedianDelta  *float64 `json:"median_delta"`
		MedianRadius *float64 `json:"median_radius"`
		Seconds      *float64 `json:"secs"`
		Cert05       *float64 `json:"cert_0.5,omitempty"`
		Cert10       *float64 `json:"cert_1.0,omitempty"`
		Cert158      *float64 `json:"cert_1.58,omitempty"`
		ObjLoss      *float64 `json:"obj_loss,omitempty"`
	}{p.Epoch, f(p.Loss), f(p.TestLoss), f(p.Accuracy), f(p.Rho), f(p.RhoEstimate), f(p.MeanMargin), f(p.MedianMargin), f(p.MedianDelta), f(p.MedianRadius), f(p.Seconds),
		f(p.Cert05), f(p.Cert10), f(p.Cert158), f(p.ObjLoss)})
}

func (r *EpochRecord) UnmarshalJSON(b []byte) error {
	var v struct {
		Epoch        int      `json:"epoch"`
		Loss         *float64 `json:"loss"`
		TestLoss     *float64 `json:"test_loss"`
		Accuracy     *float64 `json:"acc"`
		Rho          *float64 `json:"rho"`
		RhoEstimate  *float64 `json:"rho_estimate_not_sound"`
		OldEstimate  *float64 `json:"rho_seed_style"` // the name before schema renaming; still read
		MeanMargin   *float64 `json:"mean_m"`
		MedianMargin *float64 `json:"median_m"`
		MedianDelta  *float64 `json:"median_delta"`
		MedianRadius *float64 `json:"median_radius"`
		Seconds      *float64 `json:"secs"`
		Cert05       *float64 `json:"cert_0.5"`
		Cert10       *float64 `json:"cert_1.0"`
		Cert158      *float64 `json:"cert_1.58"`
		ObjLoss      *float64 `json:"obj_loss"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	g := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	if v.RhoEstimate == nil {
		v.RhoEstimate = v.OldEstimate
	}
	*r = EpochRecord{v.Epoch, g(v.Loss), g(v.TestLoss), g(v.Accuracy), g(v.Rho), g(v.RhoEstimate), g(v.MeanMargin), g(v.MedianMargin), g(v.MedianDelta), g(v.MedianRadius), g(v.Seconds),
		g(v.Cert05), g(v.Cert10), g(v.Cert158), g(v.ObjLoss)}
	return nil
}

// EvalAsNeeded as RunConfig.EvalPasses evaluates a supervised run as
// lrrn-verify does by default: passes as needed per input (verify.Options
// with Passes 0), so that the per-epoch certificates are those of the
// converged model even when the trainer's passes do not converge.
// Unsupervised runs then use the trainer's passes.
const EvalAsNeeded = -1

// RunConfig says how Run trains, evaluates and checkpoints.
type RunConfig struct {
	Epochs     int           // train until this many epochs are complete
	Checkpoint string        // model path written after every epoch and on interruption ("" = none)
	Dataset    string        // data-set name stored in checkpoints
	Test       *idx.Labelled // evaluated after every epoch (nil: no evaluation)
	EvalPasses int           // BCD passes of the evaluation (0: the trainer's; EvalAsNeeded: verify's passes as needed)
	Holdout    int           // stored in checkpoints: training images held out (Test is then them)
	History    []EpochRecord
	Progress   func(Progress)
	OnEpoch    func(EpochRecord)
}

// DivergedError reports a non-finite loss: the epoch it happened in and
// the last epoch whose checkpoint is intact.
type DivergedError struct {
	Epoch, Batch int // 1-based
	LastGood     int // completed epochs in the last checkpoint (0: none written by this run)
	Err          error
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged in epoch %d (batch %d): %v", e.Epoch, e.Batch, e.Err)
}
func (e *DivergedError) Unwrap() error { return e.Err }

// Run trains t until rc.Epochs epochs are complete, evaluating and
// checkpointing after every epoch. When ctx is cancelled it stops between
// mini-batches, writes a checkpoint at that position and returns
// ctx.Err(). When a batch diverges it returns a *DivergedError without
// writing: the checkpoint of the last completed epoch stays as it was.
// It returns the history (rc.History plus the new epochs).
func Run(ctx context.Context, t *Trainer, rc RunConfig) ([]EpochRecord, error) {
	if rc.EvalPasses < EvalAsNeeded || rc.EvalPasses > 1<<16 {
		return rc.History, fmt.Errorf("train: %d evaluation passes, want 1 … 65536, 0 (the trainer's) or EvalAsNeeded", rc.EvalPasses)
	}
	hist := rc.History
	lastGood := 0
	if e, _ := t.Position(); e > 0 {
		lastGood = e
	}
	save := func() error {
		if rc.Checkpoint == "" {
			return nil
		}
		st := stateOf(t, rc.Dataset, hist)
		st.Holdout = rc.Holdout
		return SaveCheckpoint(rc.Checkpoint, t.Model(), st)
	}
	for {
		e, _ := t.Position()
		if e >= rc.Epochs {
			return hist, nil
		}
		start := time.Now()
		loss, err := t.RunEpoch(ctx, rc.Progress)
		if err != nil {
			if errors.Is(err, ErrDiverged) {
				e, b := t.Position()
				return hist, &DivergedError{Epoch: e + 1, Batch: b + 1, LastGood: lastGood, Err: err}
			}
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				if serr := save(); serr != nil {
					return hist, fmt.Errorf("interrupted, and the checkpoint could not be written: %w", serr)
				}
				return hist, err
			}
			return hist, err
		}
		rec := EpochRecord{Epoch: e + 1, Loss: loss, Seconds: time.Since(start).Seconds(), Cert05: nan(), Cert10: nan(), Cert158: nan(), ObjLoss: nan()}
		if t.Options().Objective.nudged() {
			rec.ObjLoss = t.LastEpochObjective()
		}
		if rc.Test != nil {
			passes := rc.EvalPasses
			if passes == 0 || (passes == EvalAsNeeded && t.Options().Mode == Unsupervised) {
				passes = t.Options().Passes
			}
			if err := evaluateInto(&rec, t, rc.Test, passes); err != nil {
				return hist, err
			}
		} else {
			rec.TestLoss, rec.Accuracy, rec.MeanMargin, rec.MedianMargin, rec.MedianDelta = nan(), nan(), nan(), nan(), nan()
			rec.MedianRadius = nan()
			if rec.Rho, rec.RhoEstimate, err = lipschitz(t.Model()); err != nil {
				return hist, err
			}
		}
		hist = append(hist, rec)
		if err := save(); err != nil {
			return hist, err
		}
		lastGood = e + 1
		if rc.OnEpoch != nil {
			rc.OnEpoch(rec)
		}
	}
}

func nan() float64 { return math.NaN() }

func evaluateInto(rec *EpochRecord, t *Trainer, test *idx.Labelled, passes int) error {
	m := t.Model()
	o := t.Options()
	if o.Mode == Unsupervised {
		f, err := MeanFreeEnergy(m, test, passes, o.Workers)
		if err != nil {
			return err
		}
		rec.TestLoss = f
		rec.Accuracy, rec.MeanMargin, rec.MedianMargin, rec.MedianDelta, rec.MedianRadius = nan(), nan(), nan(), nan(), nan()
		rec.Rho, rec.RhoEstimate, err = lipschitz(m)
		return err
	}
	if passes == EvalAsNeeded {
		passes = 0 // verify's default
	}
	ev, err := evaluate(m, test, verify.Options{Passes: passes, Workers: max(1, o.Workers), Sweeps: o.Sweeps})
	if err != nil {
		return err
	}
	rec.TestLoss = nan()
	rec.Accuracy, rec.Rho, rec.RhoEstimate = ev.Accuracy, ev.Rho, ev.RhoEstimate
	rec.MeanMargin, rec.MedianMargin, rec.MedianDelta, rec.MedianRadius = ev.MeanMargin, ev.MedianMargin, ev.MedianDelta, ev.MedianRadius
	rec.Cert05, rec.Cert10, rec.Cert158 = ev.Certified[0], ev.Certified[1], ev.Certified[2]
	return nil
}
