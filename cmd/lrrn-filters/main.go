// Command lrrn-filters draws the first-layer filters of a model file as a
// PNG grid of tiles (28×28 for MNIST-sized inputs), each tile normalised
// for display.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lrrn-filters", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layer := fs.Int("layer", 0, "weight layer whose rows are drawn (0: the first layer, W_0)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "lrrn-filters draws a model's filters (the rows of W_0) as a PNG grid.\n\nUsage:\n  lrrn-filters [--layer K] MODEL OUT.png\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "lrrn-filters: want two arguments, MODEL and OUT.png (see -h)")
		return 2
	}
	m, err := lrrn.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "lrrn-filters:", err)
		return 1
	}
	if err := plot.Filters(fs.Arg(1), m, *layer); err != nil {
		fmt.Fprintln(stderr, "lrrn-filters:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d filters of layer %d\n", fs.Arg(1), m.Sizes[*layer+1], *layer)
	return 0
}
