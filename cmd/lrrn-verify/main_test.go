package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/testbuild"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	modelPath  = "../../verify/testdata/mnist-784-64-64-10-10ep.lrrn"
	imagesPath = "../../testdata/mnist-t500-images-idx3-ubyte.gz"
	labelsPath = "../../testdata/mnist-t500-labels-idx1-ubyte.gz"
	tinyModel  = "../../testdata/tiny-5-4-3.bin"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds lrrn-verify once into a temporary directory.
func binary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lrrn-verify-test")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "lrrn-verify")
		out, err := exec.Command("go", testbuild.BuildArgs(binPath)...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, args ...string) result {
	t.Helper()
	r, _ := runBinState(t, args...)
	return r
}

// runBinState runs the binary and returns its result and process state
// (for its resource usage).
func runBinState(t *testing.T, args ...string) (result, *os.ProcessState) {
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
	return result{out.String(), errb.String(), code}, cmd.ProcessState
}

func TestTextOutput(t *testing.T) {
	r := runBin(t, "--labels", labelsPath, modelPath, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	lines := strings.Split(r.stdout, "\n")
	rows := 0
	row := regexp.MustCompile(`^\s+\d+\s+\d\s+\d\s+-?\d+\.\d{4}\s+\d+\.\d{4}\s+\d+\.\d{4}\s+(yes|no)\s+\d+$`)
	for _, l := range lines {
		if row.MatchString(l) {
			rows++
		}
	}
	assert.Equal(t, 500, rows, "one table row per image")
	for _, want := range []string{"ρ ≤ 2.18", "\nestimate ", "as the paper computes ρ, at Lanczos estimates of σ_max; NOT sound", "median(m)", "accuracy", "certified accuracy", "1.58", "images/s", "SIMD " + string(asm.CurrentTier())} {
		assert.Contains(t, r.stdout, want)
	}
	summary := regexp.MustCompile(`summary\s+2\.18\d\d\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}\s+9\d\.\d\d%`)
	assert.Regexp(t, summary, r.stdout)

	// --quiet, --limit, --eps: the summary only, over 10 images, 2 radii.
	r = runBin(t, "--quiet", "--limit", "10", "--eps", "0.05,0.2", "--labels", labelsPath, modelPath, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "index")
	assert.Contains(t, r.stdout, "of 10;")
	assert.Regexp(t, `\n\s+0\.05\s+\d+\.\d\d%`, r.stdout)
	assert.NotContains(t, r.stdout, "1.58")
	// No labels: margins w.r.t. the predictions, no accuracy.
	r = runBin(t, "--limit", "5", modelPath, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "w.r.t. the predictions")
	assert.NotContains(t, r.stdout, "certified accuracy")
}

func TestJSONOutput(t *testing.T) {
	r := runBin(t, "--json", "--labels", labelsPath, "--passes", "5", "--workers", "2", modelPath, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	var out struct {
		SchemaVersion int              `json:"schema_version"`
		Model         verify.ModelInfo `json:"model"`
		Inputs        []verify.Record  `json:"inputs"`
		Summary       map[string]any   `json:"summary"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out))
	assert.Equal(t, []int{784, 64, 64, 10}, out.Model.Sizes)
	assert.Equal(t, 5, out.Model.Passes)
	require.Len(t, out.Inputs, 500)
	for _, k := range []string{"images", "rho", "mean_margin", "median_margin", "std_margin", "paper_median_delta", "accuracy", "certified", "median_certified_radius", "median_certified_pair_radius", "certified_accuracy", "seconds", "images_per_second", "passes"} {
		assert.Contains(t, out.Summary, k)
	}
	assert.Len(t, out.Summary["certified_accuracy"], 5)
	assert.Equal(t, schemaVersion, out.SchemaVersion)

	// The records are the library's certificates.
	m, err := lrrn.Load(modelPath)
	require.NoError(t, err)
	c, err := verify.New(m, verify.Options{Passes: 5, Workers: 2})
	require.NoError(t, err)
	im, err := idx.ReadImages(imagesPath)
	require.NoError(t, err)
	lb, err := idx.ReadLabels(labelsPath)
	require.NoError(t, err)
	labels := make([]int, len(lb))
	for i, l := range lb {
		labels[i] = int(l)
	}
	certs := make([]verify.Certificate, im.N)
	require.NoError(t, c.CertifyBatch(context.Background(), im.Pixels, labels, certs))
	for i, ct := range certs {
		require.Equal(t, verify.NewRecord(i, ct), out.Inputs[i], "input %d", i)
	}
	assert.EqualValues(t, 500, out.Summary["images"])

	r = runBin(t, "--json", "--quiet", "--adaptive", "--passes", "1", "--limit", "20", modelPath, imagesPath)
	require.Equal(t, 0, r.code, r.stderr)
	var q struct {
		Inputs  []verify.Record `json:"inputs"`
		Model   verify.ModelInfo
		Summary struct {
			Passes struct {
				Min int `json:"min"`
				Max int `json:"max"`
			} `json:"passes"`
		} `json:"summary"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &q))
	assert.Empty(t, q.Inputs)
	assert.True(t, q.Model.Adaptive)
	assert.Greater(t, q.Summary.Passes.Max, 1, "adaptive mode ran more passes")
}

func TestVersionAndHelp(t *testing.T) {
	r := runBin(t, "-version")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "lrrn-verify")
	assert.Contains(t, r.stdout, "SIMD "+string(asm.CurrentTier()))
	r = runBin(t, "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "Usage:")
	assert.Contains(t, r.stderr, "-labels")
	r = runBin(t, "serve", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "-addr")
}

func writeFile(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func writeIDX(t *testing.T, name string, a *idx.Array) string {
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, idx.WriteFile(p, a))
	return p
}

func TestBadInputs(t *testing.T) {
	modelBytes, err := os.ReadFile(modelPath)
	require.NoError(t, err)
	corrupt := append([]byte(nil), modelBytes...)
	corrupt[len(corrupt)/2] ^= 0x40
	labels499 := writeIDX(t, "l499.gz", &idx.Array{Type: idx.Uint8, Dims: []int{499}, U8: make([]uint8, 499)})
	big := make([]uint8, 500)
	big[7] = 12
	labelsBig := writeIDX(t, "lbig.gz", &idx.Array{Type: idx.Uint8, Dims: []int{500}, U8: big})
	px := make([]float32, 2*784)
	px[800] = 2
	badPixels := writeIDX(t, "px.idx", &idx.Array{Type: idx.Float32, Dims: []int{2, 28, 28}, F32: px})
	gz := writeFile(t, "corrupt.gz", append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, bytes.Repeat([]byte{0xde, 0xad}, 100)...))
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"missing model", []string{"nope.lrrn", imagesPath}, "nope.lrrn"},
		{"missing images", []string{modelPath, "nope.gz"}, "nope.gz"},
		{"missing labels", []string{"--labels", "nolabels.gz", modelPath, imagesPath}, "nolabels.gz"},
		{"images not IDX", []string{modelPath, modelPath}, "images:"},
		{"model not a model", []string{imagesPath, imagesPath}, "model:"},
		{"corrupt gzip", []string{modelPath, gz}, "images:"},
		{"image size", []string{tinyModel, imagesPath}, "takes 5 inputs"},
		{"labels count", []string{"--labels", labels499, modelPath, imagesPath}, "499 labels, but"},
		{"label value", []string{"--labels", labelsBig, modelPath, imagesPath}, "label 7 is 12"},
		{"corrupt model", []string{writeFile(t, "c.lrrn", corrupt), imagesPath}, "checksum"},
		{"truncated model", []string{writeFile(t, "t.lrrn", modelBytes[:1000]), imagesPath}, "truncated"},
		{"pixel out of range", []string{modelPath, badPixels}, "image 1 pixel 16 is 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, tc.args...)
			assert.Equal(t, 1, r.code, r.stderr)
			assert.Empty(t, r.stdout)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			assert.Len(t, lines, 1, "one line on stderr: %q", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "lrrn-verify: "), r.stderr)
			assert.Contains(t, r.stderr, tc.msg)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{modelPath},
		{modelPath, imagesPath, "extra"},
		{"--bogus", modelPath, imagesPath},
		{"--eps", "0.1,abc", modelPath, imagesPath},
		{"--eps", "-1", modelPath, imagesPath},
		{"--passes", "-3", modelPath, imagesPath},
		{"--workers", "-1", modelPath, imagesPath},
		{"--workers", "9223372036854775807", modelPath, imagesPath},
		{"--workers", "1000000000", modelPath, imagesPath},
		{"serve", "--model", modelPath, "--workers", "1025"},
		{"serve", "--model", modelPath, "--shutdown-timeout", "0s"},
		{"serve", "--model", modelPath, "--shutdown-timeout", "-1s"},
		{"--limit", "-1", modelPath, imagesPath},
		{"--sweeps", "-1", modelPath, imagesPath},
		{"--sweeps", "65", modelPath, imagesPath},
		{"serve"},
		{"serve", "--model", modelPath, "extra"},
		{"--data", "cifar", modelPath},
		{"--data", "mnist", modelPath, imagesPath},
		{"--data", "mnist", "--split", "validation", modelPath},
		{"--data", "mnist", "--labels", labelsPath, modelPath},
		{"--split", "train", modelPath, imagesPath},
	} {
		r := runBin(t, args...)
		assert.Equal(t, 2, r.code, "%q: %s", args, r.stderr)
		assert.True(t, strings.HasPrefix(r.stderr, "lrrn-verify: "), "%q: %s", args, r.stderr)
		assert.True(t, strings.HasSuffix(r.stderr, "; see -h\n"), "%q: %s", args, r.stderr)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
}

// TestSweepsFlag: --sweeps changes the work per pass, not what is
// certified: the same images are certified, the same at each radius.
func TestSweepsFlag(t *testing.T) {
	count := func(args ...string) (string, string) {
		r := runBin(t, append([]string{"--quiet", "--labels", labelsPath}, append(args, modelPath, imagesPath)...)...)
		require.Equal(t, 0, r.code, r.stderr)
		var certified, at158 string
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, "certified (exact model") {
				certified, _, _ = strings.Cut(l, ";")
			}
			if strings.HasPrefix(strings.TrimSpace(l), "1.58") {
				at158 = l
			}
		}
		require.NotEmpty(t, certified, r.stdout)
		return certified, at158
	}
	c1, a1 := count()
	c3, a3 := count("--sweeps", "3")
	assert.Equal(t, c1, c3)
	assert.Equal(t, a1, a3)
}

// TestData certifies a data set by name: --data with a directory holding
// the MNIST fixture under the standard names gives the same certificates
// as the files named one by one.
func TestData(t *testing.T) {
	dir := t.TempDir()
	for src, dst := range map[string]string{imagesPath: "t10k-images-idx3-ubyte.gz", labelsPath: "t10k-labels-idx1-ubyte.gz",
		"../../testdata/kmnist-t500-images-idx3-ubyte.gz": "train-images-idx3-ubyte.gz", "../../testdata/kmnist-t500-labels-idx1-ubyte.gz": "train-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, dst), b, 0o644))
	}
	files := runBin(t, "--json", "--limit", "50", "--labels", labelsPath, modelPath, imagesPath)
	require.Equal(t, 0, files.code, files.stderr)
	byName := runBin(t, "--json", "--limit", "50", "--data", "mnist", "--data-dir", dir, modelPath)
	require.Equal(t, 0, byName.code, byName.stderr)
	type rep struct {
		Inputs  []verify.Record `json:"inputs"`
		Summary struct {
			Labelled bool     `json:"labelled"`
			Accuracy *float64 `json:"accuracy"`
		} `json:"summary"`
	}
	var a, b rep
	require.NoError(t, json.Unmarshal([]byte(files.stdout), &a))
	require.NoError(t, json.Unmarshal([]byte(byName.stdout), &b))
	require.Len(t, b.Inputs, 50)
	require.Equal(t, a.Inputs, b.Inputs)
	require.True(t, b.Summary.Labelled)
	require.Equal(t, *a.Summary.Accuracy, *b.Summary.Accuracy)

	// --split train reads the train files (here KMNIST images: another set)
	tr := runBin(t, "--quiet", "--limit", "20", "--data", "mnist", "--split", "train", "--data-dir", dir, modelPath)
	require.Equal(t, 0, tr.code, tr.stderr)
	require.Contains(t, tr.stdout, "certified (exact model, inference error accounted for):")
	require.Contains(t, tr.stdout, "w.r.t. the labels")

	// a directory without the files: exit 1 and how to get them
	miss := runBin(t, "--data", "kmnist", "--data-dir", t.TempDir(), modelPath)
	require.Equal(t, 1, miss.code)
	require.Contains(t, miss.stderr, "https://github.com/rois-codh/kmnist")
}

// TestServe runs the service binary on a free port, checks it answers,
// then sends SIGTERM while a large request is in flight: the request is
// answered completely and the process exits 0.
func TestServe(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--model", modelPath, "--addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	require.True(t, sc.Scan(), "no startup line")
	m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(sc.Text())
	require.NotNil(t, m, sc.Text())
	url := m[1]
	var rest bytes.Buffer
	restDone := make(chan struct{})
	go func() {
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		close(restDone)
	}()

	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get(url + "/v1/model")
	require.NoError(t, err)
	var info verify.ModelInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	assert.Equal(t, string(asm.CurrentTier()), info.SIMD)

	im, err := idx.ReadImages(imagesPath)
	require.NoError(t, err)
	var batch [][]float64
	for rep := 0; rep < 2; rep++ {
		for i := 0; i < im.N; i++ {
			px := make([]float64, 784)
			for j, v := range im.Image(i) {
				px[j] = float64(v)
			}
			batch = append(batch, px)
		}
	}
	body, err := json.Marshal(map[string]any{"batch": batch[:1000]})
	require.NoError(t, err)
	type answer struct {
		status int
		n      int
		err    error
	}
	done := make(chan answer)
	go func() {
		resp, err := http.Post(url+"/v1/certify", "application/json", bytes.NewReader(body))
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		var got struct{ Certificates []verify.Record }
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		done <- answer{resp.StatusCode, len(got.Certificates), err}
	}()
	time.Sleep(150 * time.Millisecond) // the request is being read or certified
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	a := <-done
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, 1000, a.n)
	<-restDone // read stderr to its end first: Wait closes the pipe
	require.NoError(t, cmd.Wait(), "exit status")
	assert.Contains(t, rest.String(), "shutting down")
	assert.Contains(t, rest.String(), "stopped")
}

// jsonPaths collects the field paths of a decoded JSON value: "a.b" for
// objects, "a[].b" for the elements of arrays.
func jsonPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(p, e, out)
		}
	case []any:
		for _, e := range x {
			jsonPaths(prefix+"[]", e, out)
		}
	}
}

// TestReportFormatDocumented checks docs/report-format.md against the
// encoder: every field written is documented, every documented field is
// written (a run that fills every optional field: labels, --adaptive; and
// a run of a model with ρ = 0, without labels so that its predictions are
// certified, for the flags of unbounded radii).
func TestReportFormatDocumented(t *testing.T) {
	written := map[string]bool{}
	for _, args := range [][]string{
		{"--json", "--adaptive", "--limit", "3", "--labels", labelsPath, modelPath, imagesPath},
		{"--json", "--limit", "3", zeroModel(t), imagesPath},
	} {
		r := runBin(t, args...)
		require.Equal(t, 0, r.code, r.stderr)
		var v any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
		jsonPaths("", v, written)
	}

	doc, err := os.ReadFile("../../docs/report-format.md")
	require.NoError(t, err)
	documented := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `([a-z_\\[\\].]+)` \\|")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	require.NotEmpty(t, documented)
	for p := range written {
		assert.True(t, documented[p], "field %s is written but not in docs/report-format.md", p)
	}
	for p := range documented {
		assert.True(t, written[p], "docs/report-format.md documents %s, which is not written", p)
	}
	assert.Contains(t, string(doc), fmt.Sprintf("schema version %d", schemaVersion))
}
