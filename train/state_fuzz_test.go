package train

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

var stateSeeds = []string{
	`{"v":1,"mode":"supervised","data":"mnist","epoch":3,"batch":10,"loss_sum":1.5,"loss_n":100,"seed":1,"lr":0.4,"batch_size":10,"weight_decay":1e-05,"passes":20,"convention":"mean","workers":2,"history":[{"epoch":1,"loss":0.5},{"epoch":3,"loss":0.25}]}`,
	`{"v":1,"mode":"unsupervised","epoch":0,"batch":0,"loss_sum":0,"loss_n":0,"history":[]}`,
	`{"v":1,"epoch":4611686018427387904}`,
	`{"v":1,"epoch":2,"history":[{"epoch":2},{"epoch":1}]}`,
	`{"v":1,"loss_sum":1,"loss_n":0}`,
	`{"v":2}`,
	`{"v":1,"batch":-1}`,
	`not json`,
}

// FuzzStateFromNote: the checkpoint state decoder never panics, accepts
// only states within range, and what it accepts survives a round trip.
func FuzzStateFromNote(f *testing.F) {
	for _, s := range stateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		st, err := stateFromNote(notePrefix + body)
		if err != nil {
			require.Nil(t, st)
			return
		}
		require.NoError(t, st.check())
		require.GreaterOrEqual(t, st.Epoch, 0)
		require.LessOrEqual(t, st.Epoch, 1<<31-1)
		b, err := json.Marshal(st)
		if err != nil {
			return // e.g. a NaN in a history record has no JSON form
		}
		again, err := stateFromNote(notePrefix + string(b))
		require.NoError(t, err, "%s", b)
		require.Equal(t, st.Epoch, again.Epoch)
		require.Equal(t, st.Batch, again.Batch)
		require.Equal(t, len(st.History), len(again.History))
	})
}

func TestStateSeeds(t *testing.T) {
	want := []string{"", "", "checkpoint state: epoch = 4611686018427387904, want 0 … 2147483647",
		"checkpoint state: history record 1 is of epoch 1, want more than 2 (the record before) and at most 2 (epoch)",
		"checkpoint state: loss_sum = 1 with loss_n = 0, want a finite sum (0 for no examples)",
		"checkpoint state version 2, this build reads 1", "checkpoint state: batch = -1, want ≥ 0", ""}
	for i, s := range stateSeeds {
		_, err := stateFromNote(notePrefix + s)
		switch {
		case i == len(stateSeeds)-1:
			require.ErrorContains(t, err, "checkpoint state: invalid character")
		case want[i] == "":
			require.NoError(t, err, s)
		default:
			require.EqualError(t, err, want[i])
		}
	}
}
