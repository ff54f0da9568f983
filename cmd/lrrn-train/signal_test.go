//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lrrn/lrrn/internal/testbuild"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/require"
)

// TestSIGINTWritesCheckpoint runs the built command, interrupts it with
// SIGINT during training and checks that it exits with 130 after writing
// a checkpoint that --resume continues.
func TestSIGINTWritesCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the test that builds and signals the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lrrn-train")
	build := exec.Command("go", testbuild.BuildArgs(bin)...)
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	data := fixtureDir(t)
	model := filepath.Join(dir, "m.lrrn")
	cmd := exec.Command(bin, "--data-dir", data, "--arch", "784-32-32-10", "--epochs", "100000", "--out", model)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for { // wait for the first epoch's checkpoint
		if _, err := os.Stat(model); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint after 60 s: %s", se.String())
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 130, ee.ExitCode(), "stderr: %s", se.String())
	require.Contains(t, se.String(), "interrupted: checkpoint")
	_, st, err := train.LoadCheckpoint(model)
	require.NoError(t, err)
	require.GreaterOrEqual(t, st.Epoch, 1)
	e := st.Epoch
	if st.Batch > 0 {
		e++
	}
	code, o, errs := runCmd("--resume", "--data-dir", data, "--out", model, "--epochs", itoa(e+1))
	require.Equal(t, 0, code, "%s\n%s", o, errs)
	require.Contains(t, o, "resuming")
}

func itoa(i int) string { return strconv.Itoa(i) }
