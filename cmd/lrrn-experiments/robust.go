package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// robustTables prints the certified-robust results next to the published
// anchors (results/README.md, "Certified-robust training").
func (r *runner) robustTables(w io.Writer) error {
	ex := experiments()
	fmt.Fprintf(w, "\n### Certified-robust training: certified accuracy (%%) on the full test sets\n\n")
	fmt.Fprintln(w, "| experiment | model | epochs | clean accuracy | certified @ ε = 0.5 | @ 1.0 | @ 1.58 | ρ | median certified radius | training time |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range names(ex) {
		if !strings.HasPrefix(n, "robust-") {
			continue
		}
		e := ex[n]
		s := e.stages[len(e.stages)-1]
		sum, err := readSummary(filepath.Join(r.dir(e), "summary.json"))
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(w, "| %s | %s | not run | | | | | | | |\n", n, s.arch)
			continue
		}
		if err != nil {
			return err
		}
		c, err := readCurve(filepath.Join(r.dir(e), "metrics.csv"))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %s | %s %s | %d | %.2f | %.1f | %.1f | %.1f | %.4f | %.3f | %.0f min |\n", n, s.data, s.arch, c.epochs,
			100*sum.Accuracy, 100*sum.CertAcc["0.5"], 100*sum.CertAcc["1.0"], 100*sum.CertAcc["1.58"], sum.Rho, sum.MedianRadius, c.seconds/60)
	}
	fmt.Fprintf(w, "\n### Published deterministic certificates on MNIST at ε = 1.58\n\n")
	fmt.Fprintln(w, "| method (paper) | model | clean accuracy | certified @ 1.58 |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, a := range anchors {
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f |\n", a.Method, a.Model, a.Clean, a.Certified158)
	}
	return nil
}
