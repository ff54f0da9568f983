package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/require"
)

// fixtureDir writes a small MNIST-format data set made of the repository's
// 500 real MNIST test images: 400 for training, 100 for testing.
func fixtureDir(t *testing.T) string {
	im, err := idx.ReadImages("../../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	lb, err := idx.ReadLabels("../../testdata/mnist-t500-labels-idx1-ubyte.gz")
	require.NoError(t, err)
	dir := t.TempDir()
	d := im.Dim()
	write := func(prefix string, lo, hi int) {
		sub := &idx.Images{N: hi - lo, Rows: im.Rows, Cols: im.Cols, Pixels: im.Pixels[lo*d : hi*d]}
		var b bytes.Buffer
		require.NoError(t, idx.WriteImages(&b, sub))
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), b.Bytes(), 0o644))
		b.Reset()
		require.NoError(t, idx.WriteLabels(&b, lb[lo:hi]))
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), b.Bytes(), 0o644))
	}
	write("train", 0, 400)
	write("t10k", 400, 500)
	return dir
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTrainResumeAndOutputs(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.lrrn")
	logf := filepath.Join(dir, "m.csv")
	plotf := filepath.Join(dir, "curves.png")
	filt := filepath.Join(dir, "filters.png")
	common := []string{"--data-dir", data, "--out", model, "--log", logf}
	code, out, errs := runCmd(append(common, "--arch", "784-16-16-10", "--epochs", "2", "--plot", plotf, "--filters", filt, "--lr", "0.1")...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "epoch 2/2")
	require.Contains(t, out, "acc ")
	require.Contains(t, out, "certified ")
	for _, f := range []string{plotf, filt} {
		fh, err := os.Open(f)
		require.NoError(t, err)
		_, err = png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
	}
	_, st, err := train.LoadCheckpoint(model)
	require.NoError(t, err)
	require.Equal(t, 2, st.Epoch)
	require.Equal(t, "mnist", st.Dataset)

	// Resume to 3 epochs: one more epoch, the log is appended to.
	code, out, errs = runCmd("--resume", "--data-dir", data, "--out", model, "--log", logf, "--epochs", "3")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "resuming")
	require.Contains(t, out, "epoch 3/3")
	b, err := os.ReadFile(logf)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4, "header and three epochs:\n%s", b)

	// A resumed run keeps its hyperparameters.
	code, _, errs = runCmd("--resume", "--data-dir", data, "--out", model, "--lr", "0.3")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "--lr differs from the checkpoint")

	// A new run does not overwrite a checkpoint of another run.
	code, _, errs = runCmd(append(common, "--arch", "784-16-16-10", "--epochs", "1")...)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "use --resume")
}

func TestCommandErrors(t *testing.T) {
	data := fixtureDir(t)
	out := filepath.Join(t.TempDir(), "m.lrrn")
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no out":        {[]string{"--data-dir", data}, 2, "--out MODEL is required"},
		"beta length":   {[]string{"--data-dir", data, "--out", out, "--beta", "1,1"}, 1, "--beta \"1,1\" has 2 values; --arch 784-64-64-10 has 3 weight layers"},
		"arch vs data":  {[]string{"--data-dir", data, "--out", out, "--arch", "100-16-10"}, 1, "input layer has 100 units but mnist images have 784 pixels"},
		"arch too wide": {[]string{"--data-dir", data, "--out", out, "--arch", "784-65536-10"}, 1, `--arch "784-65536-10": lrrn: size of layer 1 is 65536, want 1 … 4096`},
		"bad arch":      {[]string{"--data-dir", data, "--out", out, "--arch", "784-x-10"}, 1, "not a positive layer size"},
		"bad act":       {[]string{"--data-dir", data, "--out", out, "--act", "tanh"}, 1, "unknown activation"},
		"gamma":         {[]string{"--data-dir", data, "--out", out, "--gamma", "2"}, 1, "γ = 2"},
		"missing data":  {[]string{"--data", "kmnist", "--data-dir", filepath.Join(data, "absent"), "--out", out}, 1, "not found"},
		"unknown data":  {[]string{"--data", "cifar", "--out", out}, 1, "unknown data set"},
		"resume absent": {[]string{"--resume", "--data-dir", data, "--out", out}, 1, "--resume"},
		"convention":    {[]string{"--data-dir", data, "--out", out, "--convention", "median"}, 1, "--convention"},
		"stray arg":     {[]string{"--out", out, "extra"}, 2, "unexpected argument"},
		"diverges":      {[]string{"--data-dir", data, "--out", out, "--arch", "784-8-8-10", "--lr", "1e9", "--epochs", "1"}, 1, "diverged in epoch 1"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errs := runCmd(tc.args...)
			require.Equal(t, tc.code, code, errs)
			require.Contains(t, errs, tc.want)
		})
	}
	_, err := os.Stat(out)
	require.True(t, os.IsNotExist(err), "no model file may be written by a failed run")
	code, _, errs := runCmd("-h")
	require.Equal(t, 0, code)
	require.Contains(t, errs, "Usage:")
}

// TestPretrainThenFineTune: unsupervised pretraining of a network with a
// linear output and β_{L−1} = 0 leaves the output layer untouched (it gets
// no gradient), then supervised training starts from the saved model.
func TestPretrainThenFineTune(t *testing.T) {
	data := fixtureDir(t)
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre.lrrn")
	code, out, errs := runCmd("--unsupervised", "--data-dir", data, "--arch", "784-16-16-10", "--beta", "1,1,0", "--lr", "0.005", "--epochs", "2", "--out", pre)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "test F")
	pm, st, err := train.LoadCheckpoint(pre)
	require.NoError(t, err)
	require.Equal(t, "unsupervised", st.Mode)
	require.Equal(t, "linear", pm.Acts[2].String())
	init, err := lrrn.NewRandom(pm.Config, 1)
	require.NoError(t, err)
	require.NotEqual(t, init.W[0], pm.W[0], "pretraining changed W_0")
	// The output layer got no data gradient, only weight decay: W_2 =
	// c·W_2(init), up to one float32 rounding per step (80 steps: relative
	// error ≤ 80·2⁻²⁴ ≈ 5e-6 on each side).
	ratio := pm.W[2][0] / init.W[2][0]
	require.Less(t, ratio, float32(1))
	for i := range pm.W[2] {
		require.InEpsilon(t, ratio*init.W[2][i], pm.W[2][i], 1.2e-5)
	}

	fine := filepath.Join(dir, "fine.lrrn")
	code, out, errs = runCmd("--init", pre, "--data-dir", data, "--epochs", "1", "--lr", "0.1", "--out", fine)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	require.Contains(t, out, "supervised training of 784-16-16-10")
	_, st, err = train.LoadCheckpoint(fine)
	require.NoError(t, err)
	require.Equal(t, "supervised", st.Mode)
	require.Equal(t, 1, st.Epoch)
	code, _, errs = runCmd("--init", pre, "--arch", "784-16-10", "--data-dir", data, "--out", filepath.Join(dir, "x.lrrn"))
	require.Equal(t, 1, code)
	require.Contains(t, errs, "--arch cannot be combined with --init")
}
