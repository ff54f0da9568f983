package main

import (
	"bytes"
	"compress/gzip"
	be "encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzIDX writes a gzip IDX file of the given dimensions whose data are
// zeros (compressed a hundredfold or more, so a small file can claim a lot).
func gzIDX(t *testing.T, name string, dims ...uint32) string {
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	require.NoError(t, err)
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	require.NoError(t, err)
	hdr := []byte{0, 0, 8, byte(len(dims))}
	n := int64(1)
	for _, d := range dims {
		hdr = be.BigEndian.AppendUint32(hdr, d)
		n *= int64(d)
	}
	_, err = zw.Write(hdr)
	require.NoError(t, err)
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zero)))
		_, err = zw.Write(zero[:k])
		require.NoError(t, err)
		n -= k
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return p
}

// runRSS runs the binary and returns its result and peak RSS in bytes.
func runRSS(t *testing.T, args ...string) (result, int64) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	return result{out.String(), errb.String(), code}, rss
}

// TestInputSizesCheckedFromHeaders: sizes are checked against the model
// and against each other from the headers, before any data are read, and
// --limit N reads N images: a file of 200,000 images (627 MB as float32,
// which the whole-file reader used to hold) costs nothing it does not use.
func TestInputSizesCheckedFromHeaders(t *testing.T) {
	images := gzIDX(t, "images.gz", 200_000, 28, 28)
	labels := gzIDX(t, "labels.gz", 200_000)
	manyLabels := gzIDX(t, "labels-many.gz", 100_000_000)
	const small = 100 << 20

	r, rss := runRSS(t, "--quiet", "--limit", "5", "--labels", labels, modelPath, images)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "of 5;")
	assert.Less(t, rss, int64(small), "peak RSS with --limit 5")

	r, rss = runRSS(t, tinyModel, images)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "lrrn-verify: images: "+images+" holds 28×28 images (784 pixels), but the model "+tinyModel+" takes 5 inputs\n", r.stderr)
	assert.Less(t, rss, int64(small), "peak RSS rejecting the image size")

	r, rss = runRSS(t, "--labels", manyLabels, modelPath, imagesPath)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "lrrn-verify: labels: "+manyLabels+" has 100000000 labels, but "+imagesPath+" has 500 images\n", r.stderr)
	assert.Less(t, rss, int64(small), "peak RSS rejecting the label count")
	assert.Empty(t, r.stdout)
}

// TestInterruptWhileReading: SIGINT or SIGTERM while the images are being
// read — from a FIFO nobody writes to, or a long gzip file — ends the
// command within a second: exit 130, one line.
func TestInterruptWhileReading(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	long := gzIDX(t, "long.gz", 1_000_000, 28, 28)
	for _, tc := range []struct {
		name   string
		images string
		sig    syscall.Signal
	}{
		{"fifo SIGINT", fifo, syscall.SIGINT},
		{"fifo SIGTERM", fifo, syscall.SIGTERM},
		{"gzip SIGINT", long, syscall.SIGINT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), "--quiet", modelPath, tc.images)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			require.NoError(t, cmd.Start())
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			require.NoError(t, cmd.Process.Signal(tc.sig))
			err := cmd.Wait()
			took := time.Since(sent)
			ee, ok := err.(*exec.ExitError)
			require.True(t, ok, "exit: %v, stderr %q", err, errb.String())
			assert.Equal(t, 130, ee.ExitCode())
			assert.Equal(t, "lrrn-verify: interrupted\n", errb.String())
			assert.Less(t, took, time.Second)
			if tc.images == fifo {
				assert.Empty(t, out.String())
			}
		})
	}
}
