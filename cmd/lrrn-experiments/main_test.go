package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestEveryConfigurationIsListed(t *testing.T) {
	out, _, code := runCmd(t, "list")
	require.Equal(t, 0, code)
	for _, n := range []string{
		"unsup-filters-linear-mnist", "unsup-filters-relu-mnist", "unsup-filters-hardsigmoid-mnist",
		"unsup-filters-relu-kmnist", "unsup-filters-relu-fashion",
		"scratch-mnist", "scratch-mnist-seed2", "scratch-kmnist", "scratch-fashion",
		"wd1e-4-mnist", "wd1e-4-kmnist", "wd1e-4-fashion",
		"pretrain-mnist", "pretrain-kmnist", "pretrain-fashion",
	} {
		assert.Contains(t, out, n+" ")
	}
}

func TestCommandsOfAFreshRun(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runCmd(t, "--results", dir, "commands", "scratch-fashion", "wd1e-4-mnist")
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6)
	assert.Contains(t, lines[0], "lrrn-train --data fashion --arch 784-64-64-10 --act relu --beta 1,1,0 --gamma 0.125 --lr 0.1 --batch 10 --weight-decay 1e-05 --passes 20 --seed 1 --convention "+Convention+" --epochs 100")
	assert.Contains(t, lines[1], "(runner) evaluate scratch-fashion")
	// the data by name: a dry run needs no data set on the machine
	assert.Regexp(t, `^lrrn-verify --json --data fashion --eps \S+ --workers 1 `+filepath.Join(dir, "scratch-fashion", "model.bin")+` > \S+verify.json.gz$`, lines[2])
	assert.Contains(t, lines[3], "--lr 0.4 --batch 10 --weight-decay 0.0001")
	// a dry run creates nothing
	m, _ := filepath.Glob(filepath.Join(dir, "*"))
	assert.Empty(t, m)
}

func TestResumeAndSkip(t *testing.T) {
	dir := t.TempDir()
	e := experiments()["unsup-filters-linear-mnist"]
	r := &runner{results: dir}
	s := e.stages[0]
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 32, 32}, Acts: []lrrn.Activation{lrrn.Linear, lrrn.Linear}, Beta: []float64{1, 1}, Gamma: gamma, Passes: passes}, 1)
	require.NoError(t, err)
	require.NoError(t, mkdir(r.dir(e)))
	st := &train.State{Version: 1, Mode: "unsupervised", Dataset: "mnist", Epoch: 7, Seed: 1, LR: 0.005, BatchSize: 10, WeightDecay: 1e-5, Passes: 20, Convention: "mean", Workers: 1}
	require.NoError(t, train.SaveCheckpoint(r.file(e, s, "model.bin"), m, st))

	out, errs, code := runCmd(t, "--results", dir, "commands", e.name)
	require.Equal(t, 0, code, errs)
	assert.True(t, strings.HasPrefix(out, "lrrn-train --resume --epochs 100 "), out)
	assert.NotContains(t, out, "--arch")

	out, _, _ = runCmd(t, "--results", dir, "status", e.name)
	assert.Contains(t, out, "7/100 epochs")

	st.Epoch = 100
	require.NoError(t, train.SaveCheckpoint(r.file(e, s, "model.bin"), m, st))
	out, _, code = runCmd(t, "--results", dir, "commands", e.name)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "100/100 epochs, skipping")
	assert.NotContains(t, out, "lrrn-train")
}

// TestPortableArgs: commands.log is committed with the results; the
// KMNIST directory of the machine that ran them (an argument, or a path
// inside it) is written as $KMNIST_DIR, and nothing else is touched.
func TestPortableArgs(t *testing.T) {
	data := filepath.Join(t.TempDir(), "kmnist")
	r := &runner{dataDir: data}
	args := []string{"--data-dir", data, "--labels", filepath.Join(data, "t10k-labels-idx1-ubyte.gz"), data + "2", "results/" + filepath.Base(data) + "/model.bin"}
	got := r.portableArgs(args)
	assert.Equal(t, []string{"--data-dir", "$KMNIST_DIR", "--labels", "$KMNIST_DIR" + string(filepath.Separator) + "t10k-labels-idx1-ubyte.gz", data + "2", "results/kmnist/model.bin"}, got)
	assert.Equal(t, args[1], data, "the arguments executed are unchanged")
	assert.Equal(t, args, (&runner{}).portableArgs(args), "no --kmnist-dir: nothing to hide")
}

func TestRefusesForeignModelFile(t *testing.T) {
	dir := t.TempDir()
	e := experiments()["scratch-mnist"]
	r := &runner{results: dir}
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{784, 64, 64, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: gamma, Passes: passes}, 1)
	require.NoError(t, err)
	require.NoError(t, mkdir(r.dir(e)))
	require.NoError(t, m.Save(r.file(e, e.stages[0], "model.bin")))
	_, errs, code := runCmd(t, "--results", dir, "commands", e.name)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "not a checkpoint of this runner")
}

func TestUnknownNames(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "scratch-mnsit"}, `unknown experiment "scratch-mnsit"`},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{}, "name a subcommand"},
		{[]string{"run"}, "name at least one experiment"},
		{[]string{"--workers", "x", "list"}, `invalid value "x" for flag -workers`},
		{[]string{"lipschitz"}, "lipschitz: give at least one model file"},
		{[]string{"--lipschitz-n", "-1", "lipschitz", "m.bin"}, "--lipschitz-n -1: want 0"},
		{[]string{"--lipschitz-n", "1", "--lipschitz-data", "cifar", "lipschitz", "m.bin"}, "--lipschitz-data: "},
	} {
		_, errs, code := runCmd(t, tc.args...)
		assert.Equal(t, 2, code, "%q", tc.args)
		assert.Contains(t, errs, tc.want)
		assert.True(t, strings.HasSuffix(errs, "; see -h\n"), errs)
		assert.Equal(t, 1, strings.Count(errs, "\n"), "one line: %q", errs)
	}
	_, errs, code := runCmd(t, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errs, "Exit status: 0 success, 1 failure")
}

func TestFilterSparsity(t *testing.T) {
	const d = 16
	m, err := lrrn.New(lrrn.Config{Sizes: []int{d, 3, 2}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: gamma, Passes: 1})
	require.NoError(t, err)
	for j := 0; j < d; j++ {
		m.W[0][j] = -2 // filter 0: constant, no near-zero weight, Hoyer 0
	}
	m.W[0][d+5] = 3 // filter 1: one nonzero, near-zero 15/16, Hoyer 1
	// filter 2: all zero (dead)
	s, err := FilterSparsity(m, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, s.Filters)
	assert.Equal(t, 1, s.Dead)
	assert.InDelta(t, (0+15.0/16)/2, s.NearZero, 1e-12)
	assert.InDelta(t, 0.5, s.Hoyer, 1e-12)
	// only coordinates 8 … 11 used: filter 1 is zero there (dead), filter 0 constant
	use := make([]bool, d)
	for j := 8; j < 12; j++ {
		use[j] = true
	}
	s, err = FilterSparsity(m, use)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Filters)
	assert.Equal(t, 2, s.Dead)
	assert.InDelta(t, 0, s.NearZero, 1e-12)
	_, err = FilterSparsity(m, use[:3])
	assert.Error(t, err)
}

// TestBestAt158: the figure keeps the runs that certify most at ε = 1.58,
// in their order, all of them when there are few.
func TestBestAt158(t *testing.T) {
	line := func(name string, at158, at2 float64) plot.Line {
		return plot.Line{Name: name, X: []float64{0, 1.5, 1.58, 2}, Y: []float64{99, 80, at158, at2}}
	}
	lines := []plot.Line{line("a", 50, 90), line("b", 61, 10), line("c", 55, 30), line("d", 40, 95)}
	names := func(ls []plot.Line) (s []string) {
		for _, l := range ls {
			s = append(s, l.Name)
		}
		return s
	}
	assert.Equal(t, []string{"b", "c"}, names(bestAt158(lines, 2)))
	assert.Equal(t, []string{"a", "b", "c"}, names(bestAt158(lines, 3)), "the value at 1.58 decides, not at 2")
	assert.Equal(t, []string{"a", "b", "c", "d"}, names(bestAt158(lines, 6)))
}
