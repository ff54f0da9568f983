package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutProtectsOtherFiles: --out that names a file which is not a model
// is not overwritten without --force; with --force it is replaced by the
// checkpoint. The temporary files of a killed checkpoint write are
// removed at start.
func TestOutProtectsOtherFiles(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "precious.txt")
	require.NoError(t, os.WriteFile(out, []byte("my notes\n"), 0o644))
	stale := filepath.Join(dir, ".precious.txt.tmp-3k9x2")
	require.NoError(t, os.WriteFile(stale, []byte("half a checkpoint"), 0o644))
	args := []string{"--data-dir", data, "--out", out, "--arch", "784-8-10", "--epochs", "1", "--lr", "0.1"}

	code, _, errs := runCmd(args...)
	require.Equal(t, 1, code, errs)
	assert.Contains(t, errs, "--out "+out+" exists and is not a model or checkpoint lrrn-train may replace")
	assert.Contains(t, errs, "--force")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "my notes\n", string(b), "the file is untouched")
	assert.Contains(t, errs, "removed "+stale)
	_, err = os.Stat(stale)
	assert.ErrorIs(t, err, os.ErrNotExist)

	code, _, errs = runCmd(append(args, "--force")...)
	require.Equal(t, 0, code, errs)
	_, st, err := train.LoadCheckpoint(out)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Epoch)
}

// TestResumeRejectsOutOfRangeState: a checkpoint whose state claims epoch
// 2^62 (valid CRC: the note was written as such) is refused with the field,
// its value and the range.
func TestResumeRejectsOutOfRangeState(t *testing.T) {
	data := fixtureDir(t)
	out := filepath.Join(t.TempDir(), "ck.bin")
	code, _, errs := runCmd("--data-dir", data, "--out", out, "--arch", "784-8-10", "--epochs", "1", "--lr", "0.1")
	require.Equal(t, 0, code, errs)
	m, err := lrrn.Load(out)
	require.NoError(t, err)
	prefix, body, ok := strings.Cut(m.Meta.Note, "\n")
	require.True(t, ok)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	st["epoch"] = int64(1) << 62
	b, err := json.Marshal(st)
	require.NoError(t, err)
	m.Meta.Note = prefix + "\n" + string(b)
	require.NoError(t, m.Save(out))

	code, _, errs = runCmd("--resume", "--data-dir", data, "--out", out, "--epochs", "2")
	require.Equal(t, 1, code, errs)
	assert.Contains(t, errs, "checkpoint state: epoch = 4611686018427387904, want 0 … 2147483647")
}
