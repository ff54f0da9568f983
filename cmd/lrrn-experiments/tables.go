package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lrrn/lrrn/lrrn"
)

// paperRow is one row of the paper's Table 1 or 2.
type paperRow struct{ rho, meanM, medM, stdM, delta, acc float64 }

var paperTables = map[string]map[string]paperRow{
	"1e-5": {
		"mnist":   {0.9387, 0.8299, 0.9270, 0.2592, 0.698, 97.2},
		"kmnist":  {0.9548, 0.6195, 0.6827, 0.3442, 0.506, 85.6},
		"fashion": {1.0716, 0.6318, 0.6913, 0.3397, 0.456, 85.7},
	},
	"1e-4": {
		"mnist":   {0.4604, 0.6581, 0.7038, 0.2899, 1.0810, 95.5},
		"kmnist":  {0.4174, 0.4402, 0.4101, 0.3051, 0.6948, 80.5},
		"fashion": {0.4142, 0.5006, 0.4776, 0.3267, 0.8153, 82.4},
	},
}

var paperAcc = map[string]map[string]float64{
	"scratch":  {"mnist": 97.2, "kmnist": 85.8, "fashion": 86.4},
	"pretrain": {"mnist": 97.76, "kmnist": 87.91, "fashion": 86.66},
	"wd1e-4":   {"mnist": 95.5, "kmnist": 80.5, "fashion": 82.4},
}

// curve is the per-epoch test accuracy of a run's metrics.csv.
type curve struct {
	epochs    int
	final     float64
	best      float64
	bestEpoch int
	seconds   float64 // training time, summed over the epochs
}

func readCurve(path string) (curve, error) {
	f, err := os.Open(path)
	if err != nil {
		return curve{}, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return curve{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 {
		return curve{}, fmt.Errorf("%s: no epochs", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ie, ok1 := col["epoch"]
	ia, ok2 := col["test_acc"]
	if !ok1 || !ok2 {
		return curve{}, fmt.Errorf("%s: no epoch/test_acc columns", path)
	}
	c := curve{best: math.Inf(-1)}
	is, hasSecs := col["seconds"]
	for _, r := range rows[1:] {
		if len(r) <= ia || r[0] == "epoch" {
			continue
		}
		if hasSecs && len(r) > is {
			if v, err := strconv.ParseFloat(r[is], 64); err == nil {
				c.seconds += v
			}
		}
		e, err1 := strconv.Atoi(r[ie])
		a, err2 := strconv.ParseFloat(r[ia], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		c.epochs, c.final = e, 100*a
		if 100*a > c.best {
			c.best, c.bestEpoch = 100*a, e
		}
	}
	return c, nil
}

func readSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// tables prints the markdown tables of results/README.md from the
// experiments' metrics.csv and summary.json files (missing runs are
// marked "not run").
func (r *runner) tables(w io.Writer) error {
	ex := experiments()
	fmt.Fprintln(w, "### Test accuracy (%), the paper vs ours")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| experiment | the paper | ours, final epoch | ours, best epoch (epoch) | epochs run |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, kind := range []string{"scratch", "pretrain", "wd1e-4"} {
		for _, data := range []string{"mnist", "kmnist", "fashion"} {
			names := []string{kind + "-" + data}
			if kind == "scratch" {
				names = append(names, kind+"-"+data+"-seed2", kind+"-"+data+"-seed3")
			}
			for _, n := range names {
				e := ex[n]
				c, err := readCurve(filepath.Join(r.dir(e), "metrics.csv"))
				if errors.Is(err, os.ErrNotExist) {
					if n == names[0] {
						fmt.Fprintf(w, "| %s | %.2f | not run | | |\n", n, paperAcc[kind][data])
					}
					continue
				}
				if err != nil {
					return err
				}
				want := e.stages[len(e.stages)-1].epochs
				note := ""
				if c.epochs < want {
					note = fmt.Sprintf(" (of %d: NOT the paper's configuration)", want)
				}
				fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f (%d) | %d%s |\n", n, paperAcc[kind][data], c.final, c.best, c.bestEpoch, c.epochs, note)
			}
		}
	}
	for _, t := range []struct{ wd, prefix, title string }{{"1e-5", "scratch-", "Table 1 (weight decay 1e-5)"}, {"1e-4", "wd1e-4-", "Table 2 (weight decay 1e-4)"}} {
		fmt.Fprintf(w, "\n### %s: the paper / ours\n\n", t.title)
		fmt.Fprintln(w, "| run | ρ | mean(m) | median(m) | std(m) | median δ | accuracy % | ρ, power-iteration estimate | median certified radius | median pairwise radius | cert. acc. ε=0.5 (δ / δ_pair) | cert. acc. ε=1.0 (δ / δ_pair) |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, data := range []string{"mnist", "kmnist", "fashion"} {
			sr := paperTables[t.wd][data]
			names := []string{t.prefix + data}
			if t.prefix == "scratch-" {
				names = append(names, t.prefix+data+"-seed2", t.prefix+data+"-seed3")
			}
			for i, n := range names {
				s, err := readSummary(filepath.Join(r.dir(ex[n]), "summary.json"))
				if errors.Is(err, os.ErrNotExist) {
					if i == 0 {
						fmt.Fprintf(w, "| %s | %.4f / — | %.4f / — | %.4f / — | %.4f / — | %.3f / — | %.1f / — | not run | | | | |\n",
							n, sr.rho, sr.meanM, sr.medM, sr.stdM, sr.delta, sr.acc)
					}
					continue
				}
				if err != nil {
					return err
				}
				paper := func(f string, v float64) string {
					if i > 0 {
						return "—"
					}
					return fmt.Sprintf(f, v)
				}
				fmt.Fprintf(w, "| %s | %s / %.4f | %s / %.4f | %s / %.4f | %s / %.4f | %s / %.3f | %s / %.2f | %.4f | %.3f | %.3f | %.1f%% / %.1f%% | %.1f%% / %.1f%% |\n",
					n, paper("%.4f", sr.rho), s.Rho, paper("%.4f", sr.meanM), s.MeanMargin, paper("%.4f", sr.medM), s.MedianMargin,
					paper("%.4f", sr.stdM), s.StdMargin, paper("%.3f", sr.delta), s.MedianDelta, paper("%.1f", sr.acc), 100*s.Accuracy,
					s.RhoEstimate, s.MedianRadius, s.MedianPairRadius,
					100*s.CertAcc["0.5"], 100*s.CertAccPair["0.5"], 100*s.CertAcc["1.0"], 100*s.CertAccPair["1.0"])
			}
		}
	}
	fmt.Fprintf(w, "\n### First-layer filter sparsity (784-32-32, unsupervised)\n\n")
	fmt.Fprintln(w, "| experiment | epochs | near-zero weights, all 784 pixels | near-zero weights, pixels used by the data (count) | Hoyer sparsity, all / used pixels | dead filters |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	masks := map[string][]bool{}
	counts := map[string]int{}
	for _, n := range []string{"unsup-filters-linear-mnist", "unsup-filters-relu-mnist", "unsup-filters-hardsigmoid-mnist", "unsup-filters-relu-kmnist", "unsup-filters-relu-fashion"} {
		e := ex[n]
		s := e.stages[0]
		m, err := lrrn.Load(r.file(e, s, "model.bin"))
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(w, "| %s | not run | | | | |\n", n)
			continue
		}
		if err != nil {
			return err
		}
		if _, ok := masks[s.data]; !ok {
			if masks[s.data], counts[s.data], err = usedPixels(s.data, r.dataDirOf(s.data)); err != nil {
				return err
			}
		}
		all, err := FilterSparsity(m, nil)
		if err != nil {
			return err
		}
		used, err := FilterSparsity(m, masks[s.data])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %s | %d | %.1f%% | %.1f%% (%d) | %.3f / %.3f | %d |\n", n, m.Meta.Epochs, 100*all.NearZero, 100*used.NearZero, counts[s.data], all.Hoyer, used.Hoyer, all.Dead)
	}
	fmt.Fprintf(w, "\nnear-zero: abs(w) ≤ %g × the largest abs(w) of the same filter, averaged over the filters; Hoyer sparsity (√n − ‖w‖₁/‖w‖₂)/(√n − 1), averaged (0: all weights equal in size, 1: one nonzero weight); \"used\" pixels: nonzero in at least one training image\n", nearZeroRel)
	return r.robustTables(w)
}
