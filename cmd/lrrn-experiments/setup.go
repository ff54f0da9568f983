package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lrrn/lrrn/internal/atomicfile"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

// defaultSetupWidths are the widths setup-scaling measures by default.
const defaultSetupWidths = "64,128,256,512,1024,2048,4096"

// setupChildEnv is set (to "1") in the environment of setup-scaling's
// children. lrrn-experiments itself ignores it: a child is told what to do
// by its arguments (setup-width W). Under go test, os.Executable is the
// package's test binary, which would run the tests with those arguments;
// its TestMain (setup_test.go) runs run() on them instead when this
// variable is set, so that the tests exercise the same re-execution as the
// command.
const setupChildEnv = "LRRN_EXPERIMENTS_SETUP_CHILD"

const setupUsage = `lrrn-experiments setup-scaling measures verify.New (CPU time, memory, μ)
on random 784-W-W-10 models for each width W, each width in its own
process so that the peak resident set is that width's, and writes
RESULTS/setup-scaling/setup.csv, setup.png and setup.svg.

Usage:
  lrrn-experiments [flags] setup-scaling [--widths W,...] [--results DIR]

Flags:
`

// setupResult is one width's measurement: the child's JSON line, and the
// peak resident set its parent reads from the exited child.
type setupResult struct {
	Width      int     `json:"width"`
	Units      int     `json:"units"`       // N = 2W variable units
	CPUSeconds float64 `json:"cpu_seconds"` // user+system CPU time of New, all threads
	Wall       float64 `json:"wall_seconds"`
	Allocated  uint64  `json:"allocated_bytes"` // allocated during New
	Live       uint64  `json:"live_bytes"`      // Go heap in use after New and a GC, the Certifier alive
	Mu         float64 `json:"mu"`              // certified μ of the best block scaling
	GOMAXPROCS int     `json:"gomaxprocs"`
	PeakRSS    float64 `json:"-"` // bytes, the child's peak resident set
}

// setupModel returns the random 784-w-w-10 model of verify's BenchmarkNew
// (verify/bench_setup_test.go): relu hidden layers, a linear output,
// β = [1, 1, 0], γ = 1/8, 20 passes, Glorot-uniform weights, seed w.
func setupModel(w int) (*lrrn.Model, error) {
	return lrrn.NewRandom(lrrn.Config{Sizes: []int{784, w, w, 10},
		Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 1, 0}, Gamma: 0.125, Passes: 20}, uint64(w))
}

// parseWidths parses --widths: positive integers, comma-separated, no
// repeats; it returns them in ascending order.
func parseWidths(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w <= 0 {
			return nil, cli.Usagef("--widths %q: %q is not a positive integer", s, strings.TrimSpace(f))
		}
		if slices.Contains(out, w) {
			return nil, cli.Usagef("--widths %q: %d given twice", s, w)
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return out, nil
}

// setupWidth is the hidden subcommand setup-width W, run by setupScaling
// in a child process: it builds the model of width W, measures
// verify.New and prints one JSON line (setupResult without PeakRSS).
func (r *runner) setupWidth(args []string) error {
	if len(args) != 1 {
		return cli.Usagef("setup-width: give one width")
	}
	w, err := strconv.Atoi(args[0])
	if err != nil || w <= 0 {
		return cli.Usagef("setup-width %q: want a positive integer", args[0])
	}
	m, err := setupModel(w)
	if err != nil {
		return err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	cpu0, err := cpuSeconds()
	if err != nil {
		return err
	}
	t0 := time.Now()
	c, err := verify.New(m, verify.Options{})
	if err != nil {
		return err
	}
	wall := time.Since(t0).Seconds()
	cpu1, err := cpuSeconds()
	if err != nil {
		return err
	}
	runtime.ReadMemStats(&ms)
	res := setupResult{Width: w, Units: 2 * w, CPUSeconds: cpu1 - cpu0, Wall: wall, Allocated: ms.TotalAlloc - alloc0,
		GOMAXPROCS: runtime.GOMAXPROCS(0)}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.Live = ms.HeapAlloc
	res.Mu = c.Bounds().MuBest
	runtime.KeepAlive(c)
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(r.stdout, "%s\n", b)
	return err
}

// setupScaling is the setup-scaling subcommand: it runs setup-width for
// each width in a child process (this executable again), reads the
// child's peak resident set from its resource usage, and writes the CSV
// and the figure.
func (r *runner) setupScaling(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("lrrn-experiments setup-scaling", setupUsage, r.stderr)
	widthsFlag := fs.String("widths", defaultSetupWidths, "the widths W to measure, comma-separated")
	results := fs.String("results", r.results, "directory of the result directories (as lrrn-experiments --results)")
	if err := cli.Parse(fs, args, r.stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("setup-scaling: unexpected argument %q", fs.Arg(0))
	}
	widths, err := parseWidths(*widthsFlag)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("setup-scaling: cannot re-run this executable: %w", err)
	}
	var rs []setupResult
	for _, w := range widths {
		res, err := setupChild(ctx, exe, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "width %d: New %.3f CPU s (%.3f s wall, GOMAXPROCS %d), allocated %.1f MB, peak RSS %.1f MB, live heap %.1f MB, μ %.4f\n",
			w, res.CPUSeconds, res.Wall, res.GOMAXPROCS, mb(float64(res.Allocated)), mb(res.PeakRSS), mb(float64(res.Live)), res.Mu)
		rs = append(rs, res)
	}
	dir := filepath.Join(*results, "setup-scaling")
	if err := mkdir(dir); err != nil {
		return err
	}
	if err := writeSetupCSV(filepath.Join(dir, "setup.csv"), rs); err != nil {
		return err
	}
	left, right := setupCharts(rs)
	for _, ext := range []string{"png", "svg"} {
		if err := plot.SaveRow(filepath.Join(dir, "setup."+ext), left, right); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.stdout, "wrote %s, setup.png and setup.svg\n", filepath.Join(dir, "setup.csv"))
	return nil
}

// setupChild runs `exe setup-width w` and returns its measurement with
// its peak resident set.
func setupChild(ctx context.Context, exe string, w int) (setupResult, error) {
	var res setupResult
	cmd := exec.CommandContext(ctx, exe, "setup-width", strconv.Itoa(w))
	cmd.Env = append(os.Environ(), setupChildEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("setup-scaling: width %d: %w", w, ctx.Err())
		}
		if msg := firstLine(stderr.String()); msg != "" {
			return res, fmt.Errorf("setup-scaling: width %d: %s (%v)", w, msg, err)
		}
		return res, fmt.Errorf("setup-scaling: width %d: %v", w, err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		return res, fmt.Errorf("setup-scaling: width %d: the child's output %q: %v", w, firstLine(stdout.String()), err)
	}
	if res.Width != w {
		return res, fmt.Errorf("setup-scaling: width %d: the child measured width %d", w, res.Width)
	}
	rss, err := peakRSS(cmd.ProcessState)
	if err != nil {
		return res, fmt.Errorf("setup-scaling: width %d: %w", w, err)
	}
	res.PeakRSS = rss
	return res, nil
}

// firstLine returns the first non-empty line of a child's output, without
// the "lrrn-experiments: " of its error message.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return strings.TrimPrefix(l, "lrrn-experiments: ")
		}
	}
	return ""
}

// mb is bytes in MB (MiB) of 2²⁰ bytes.
func mb(b float64) float64 { return b / (1 << 20) }

// setupCSVHeader names setup.csv's columns, with their units.
var setupCSVHeader = []string{"width", "variable_units", "cpu_seconds", "wall_seconds", "allocated_bytes", "peak_rss_bytes", "live_heap_bytes", "mu", "gomaxprocs"}

// writeSetupCSV writes one row per width, atomically.
func writeSetupCSV(path string, rs []setupResult) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(setupCSVHeader)
	for _, res := range rs {
		_ = cw.Write([]string{strconv.Itoa(res.Width), strconv.Itoa(res.Units),
			strconv.FormatFloat(res.CPUSeconds, 'f', 6, 64), strconv.FormatFloat(res.Wall, 'f', 6, 64),
			strconv.FormatUint(res.Allocated, 10), strconv.FormatFloat(res.PeakRSS, 'f', 0, 64), strconv.FormatUint(res.Live, 10),
			strconv.FormatFloat(res.Mu, 'g', -1, 64), strconv.Itoa(res.GOMAXPROCS)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}

// setupCharts returns the two log–log charts of setup.png: CPU seconds of
// New against width, with a W³ line through the widest width for the
// slope of the factorisations, and the memory against width.
func setupCharts(rs []setupResult) (left, right *plot.Chart) {
	// short axis labels: a rotated label longer than the chart is high
	// shifts the chart (and the font has no ⁰ or ∝)
	left = plot.NewChart("verify.New: CPU time (user+system)", "width W (random 784-W-W-10 model)", "CPU seconds of New")
	right = plot.NewChart("verify.New: memory", "width W (random 784-W-W-10 model)", "memory (MiB = 2^20 bytes)")
	left.LogX, left.LogY, right.LogX, right.LogY = true, true, true, true
	left.LegendLeft, right.LegendLeft = true, true
	cpu := plot.Line{Name: "CPU seconds of New"}
	rss := plot.Line{Name: "peak RSS of the process"}
	alloc := plot.Line{Name: "allocated during New"}
	live := plot.Line{Name: "live heap after New and a GC"}
	for _, res := range rs {
		x := float64(res.Width)
		cpu.X, cpu.Y = append(cpu.X, x), append(cpu.Y, res.CPUSeconds)
		rss.X, rss.Y = append(rss.X, x), append(rss.Y, mb(res.PeakRSS))
		alloc.X, alloc.Y = append(alloc.X, x), append(alloc.Y, mb(float64(res.Allocated)))
		live.X, live.Y = append(live.X, x), append(live.Y, mb(float64(res.Live)))
	}
	left.Lines = []plot.Line{cpu}
	// the W³ reference over the widest three octaves (where the
	// factorisations dominate), through the widest point
	last := rs[len(rs)-1]
	ref := plot.Line{Name: "c·W³ through the widest", Dashed: true}
	for _, res := range rs {
		if res.Width*8 >= last.Width && last.CPUSeconds > 0 {
			ref.X = append(ref.X, float64(res.Width))
			ref.Y = append(ref.Y, last.CPUSeconds*math.Pow(float64(res.Width)/float64(last.Width), 3))
		}
	}
	if len(ref.X) >= 2 {
		left.Lines = append(left.Lines, ref)
	}
	right.Lines = []plot.Line{rss, alloc, live}
	return left, right
}
