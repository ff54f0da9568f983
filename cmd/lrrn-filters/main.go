// Command lrrn-filters draws the first-layer filters of a model file as a
// PNG grid of tiles (28×28 for MNIST-sized inputs), each tile normalised
// for display.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Status("lrrn-filters", draw(args, stdout, stderr), stderr)
}

func draw(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("lrrn-filters", "lrrn-filters draws a model's filters (the rows of W_0) as a PNG grid.\n\nUsage:\n  lrrn-filters [--layer K] MODEL OUT.png\n\n"+cli.ExitHelp+"\nFlags:\n", stderr)
	layer := fs.Int("layer", 0, "weight layer whose rows are drawn (0: the first layer, W_0)")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usagef("want two arguments, MODEL and OUT.png (got %d)", fs.NArg())
	}
	if *layer < 0 {
		return cli.Usagef("--layer %d: want 0 or more", *layer)
	}
	m, err := lrrn.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := plot.Filters(fs.Arg(1), m, *layer); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d filters of layer %d\n", fs.Arg(1), m.Sizes[*layer+1], *layer)
	return nil
}
