package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lrrn/lrrn/lrrn"
)

// State is what a checkpoint stores beside the weights so that training
// resumes exactly: the position, the running loss of a partial epoch, the
// hyperparameters and the history of evaluations.
type State struct {
	Version     int           `json:"v"`
	Mode        string        `json:"mode"`
	Dataset     string        `json:"data"`
	Epoch       int           `json:"epoch"` // next epoch (0-based) …
	Batch       int           `json:"batch"` // … and next batch in it
	LossSum     float64       `json:"loss_sum"`
	LossN       int           `json:"loss_n"`
	ObjSum      float64       `json:"obj_sum,omitempty"` // Σ ℓ of the epoch so far (nudged objectives) …
	ObjN        int           `json:"obj_n,omitempty"`   // … over this many examples
	Seed        uint64        `json:"seed"`
	LR          float64       `json:"lr"`
	BatchSize   int           `json:"batch_size"`
	WeightDecay float64       `json:"weight_decay"`
	Passes      int           `json:"passes"`
	Sweeps      int           `json:"sweeps,omitempty"` // Gauss–Seidel sweeps per block and pass (0: 1)
	Convention  string        `json:"convention"`
	Workers     int           `json:"workers"`
	Objective   string        `json:"objective,omitempty"`
	Schedule    string        `json:"schedule,omitempty"`
	Epochs      int           `json:"epochs,omitempty"`          // run length, for the schedule
	Holdout     int           `json:"holdout,omitempty"`         // training images held out for evaluation
	Dropped     int           `json:"history_dropped,omitempty"` // oldest records left out to fit
	History     []EpochRecord `json:"history"`
}

// notePrefix starts the model note of a checkpoint; the JSON State follows.
const notePrefix = "lrrn-train checkpoint v1\n"

// stateOf returns the state of trainer t with the given data-set name and
// history.
func stateOf(t *Trainer, dataset string, history []EpochRecord) *State {
	o := t.Options()
	e, b := t.Position()
	sum, n := t.EpochLoss()
	return &State{Version: 1, Mode: o.Mode.String(), Dataset: dataset, Epoch: e, Batch: b, LossSum: sum, LossN: n,
		ObjSum: t.objLoss, ObjN: t.objN,
		Seed: o.Seed, LR: o.LR, BatchSize: o.Batch, WeightDecay: o.WeightDecay, Passes: o.Passes, Sweeps: o.Sweeps,
		Convention: o.Convention.String(), Workers: o.Workers, History: history,
		Objective: o.Objective.String(), Schedule: o.Schedule.String(), Epochs: o.Epochs}
}

// Options returns the trainer options the state was written with.
func (s *State) Options() (Options, error) {
	c, err := ParseConvention(s.Convention)
	if err != nil {
		return Options{}, err
	}
	mode := Supervised
	switch s.Mode {
	case "supervised":
	case "unsupervised":
		mode = Unsupervised
	default:
		return Options{}, fmt.Errorf("unknown mode %q", s.Mode)
	}
	obj, err := ParseObjective(s.Objective)
	if err != nil {
		return Options{}, err
	}
	sch, err := ParseSchedule(s.Schedule)
	if err != nil {
		return Options{}, err
	}
	return Options{Mode: mode, LR: s.LR, Batch: s.BatchSize, WeightDecay: s.WeightDecay, Passes: s.Passes, Sweeps: s.Sweeps,
		Seed: s.Seed, Workers: s.Workers, Convention: c, Objective: obj, Schedule: sch, Epochs: s.Epochs}, nil
}

// SaveCheckpoint writes m with st in its note to path, atomically
// ((*lrrn.Model).Save): a crash leaves the previous file intact. m's note
// is replaced; its other metadata are set from st.
func SaveCheckpoint(path string, m *lrrn.Model, st *State) error {
	c := *m // shallow: shares the weights, own Meta
	hist := st.History
	dropped := st.Dropped
	for {
		s := *st
		s.History, s.Dropped = hist, dropped
		b, err := json.Marshal(&s)
		if err != nil {
			return err
		}
		if len(notePrefix)+len(b) <= lrrn.MaxNoteLen {
			c.Meta.Note = notePrefix + string(b)
			break
		}
		if len(hist) == 0 {
			return errors.New("train: checkpoint state does not fit the model note")
		}
		drop := max(1, len(hist)/8)
		hist, dropped = hist[drop:], dropped+drop
	}
	c.Meta.Dataset = st.Dataset
	c.Meta.Epochs = st.Epoch
	c.Meta.TestAccuracy = math.NaN()
	if n := len(st.History); n > 0 && !math.IsNaN(st.History[n-1].Accuracy) {
		c.Meta.TestAccuracy = st.History[n-1].Accuracy
	}
	return c.Save(path)
}

// ErrNoState is returned by LoadCheckpoint for a model file that was not
// written as a checkpoint by this package.
var ErrNoState = errors.New("model file holds no lrrn-train checkpoint state")

// LoadCheckpoint reads a model and its checkpoint state.
func LoadCheckpoint(path string) (*lrrn.Model, *State, error) {
	m, err := lrrn.Load(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := stateFromNote(m.Meta.Note)
	if err != nil {
		return m, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, st, nil
}

// stateFromNote parses the checkpoint state in a model note.
func stateFromNote(note string) (*State, error) {
	if !strings.HasPrefix(note, notePrefix) {
		return nil, ErrNoState
	}
	var st State
	if err := json.Unmarshal([]byte(note[len(notePrefix):]), &st); err != nil {
		return nil, fmt.Errorf("checkpoint state: %w", err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("checkpoint state version %d, this build reads 1", st.Version)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("checkpoint state: %w", err)
	}
	return &st, nil
}

// check rejects a state whose counters are out of range (what Options and
// train.New check is left to them): epochs within the model file's epochs
// field (0 … 2^31−1), a position and counts ≥ 0, a finite running loss
// that is 0 when no example was counted, history records of completed
// epochs in order.
func (st *State) check() error {
	const maxEpochs = math.MaxInt32
	switch {
	case st.Epoch < 0 || st.Epoch > maxEpochs:
		return fmt.Errorf("epoch = %d, want 0 … %d", st.Epoch, maxEpochs)
	case st.Epochs < 0 || st.Epochs > maxEpochs:
		return fmt.Errorf("epochs = %d, want 0 … %d", st.Epochs, maxEpochs)
	case st.Batch < 0:
		return fmt.Errorf("batch = %d, want ≥ 0", st.Batch)
	case st.LossN < 0:
		return fmt.Errorf("loss_n = %d, want ≥ 0", st.LossN)
	case math.IsNaN(st.LossSum) || math.IsInf(st.LossSum, 0) || st.LossN == 0 && st.LossSum != 0:
		return fmt.Errorf("loss_sum = %v with loss_n = %d, want a finite sum (0 for no examples)", st.LossSum, st.LossN)
	case st.Holdout < 0:
		return fmt.Errorf("holdout = %d, want ≥ 0", st.Holdout)
	case st.Dropped < 0:
		return fmt.Errorf("history_dropped = %d, want ≥ 0", st.Dropped)
	}
	prev := 0
	for i, r := range st.History {
		if r.Epoch <= prev || r.Epoch > st.Epoch {
			return fmt.Errorf("history record %d is of epoch %d, want more than %d (the record before) and at most %d (epoch)", i, r.Epoch, prev, st.Epoch)
		}
		prev = r.Epoch
	}
	return nil
}
