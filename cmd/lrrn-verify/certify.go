package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/internal/cli"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
)

func loadCertifier(o *options) (*verify.Certifier, error) {
	m, err := lrrn.Load(o.model)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := verify.New(m, verify.Options{Passes: o.passes, Workers: o.workers, Adaptive: o.adaptive, MaxPasses: o.maxPasses, Sweeps: o.sweeps, NoRefine: o.noRefine})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", o.model, err)
	}
	return c, nil
}

// chunkImages is how many images certify reads and certifies at a time:
// four tiles per worker, within 32 MiB of pixels, a whole number of tiles
// (so that every tile is the one a single CertifyBatch over the whole file
// would form).
func chunkImages(workers, d0 int) int {
	T := lrrn.TileSize
	n := min(4*workers*T, (32<<20)/(4*d0))
	return max(T, n/T*T)
}

// certify streams the images (and labels) through the certifier a chunk
// at a time: memory is bounded by the chunk, not by the file (plus the 24
// bytes an image the summary's medians keep). Sizes are checked against
// the model and against each other from the headers, before any data are
// read; --limit N reads N images. The output starts once the first chunk
// has been read and checked, so an error there leaves stdout empty; an
// invalid image further on is reported when it is reached (exit 1).
func certify(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	c, err := loadCertifier(o)
	if err != nil {
		return err
	}
	if o.data != "" {
		if err := locateData(o, stderr); err != nil {
			return err
		}
	}
	m := c.Model()
	ims, err := idx.OpenImages(ctx, o.images)
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer ims.Close()
	d0 := m.Sizes[0]
	if d := ims.Dim(); d != d0 {
		return fmt.Errorf("images: %s holds %d×%d images (%d pixels), but the model %s takes %d inputs", o.images, ims.Rows, ims.Cols, d, o.model, d0)
	}
	var lr *idx.LabelReader
	if o.labels != "" {
		if lr, err = idx.OpenLabels(ctx, o.labels); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		defer lr.Close()
		if lr.N != ims.N {
			return fmt.Errorf("labels: %s has %d labels, but %s has %d images", o.labels, lr.N, o.images, ims.N)
		}
	}
	n := ims.N
	if o.limit > 0 {
		n = min(n, o.limit)
	}
	classes := m.Sizes[m.L()]
	chunk := min(chunkImages(c.Options().Workers, d0), n)
	x := make([]float32, chunk*d0)
	certs := make([]verify.Certificate, chunk)
	var lb8 []uint8
	var labels []int
	if lr != nil {
		lb8, labels = make([]uint8, chunk), make([]int, chunk)
	}
	t := newTally(o.eps, lr != nil)
	var out *output
	var elapsed time.Duration
	for done := 0; done < n; {
		k := min(chunk, n-done)
		if _, err := ims.Read(x[:k*d0]); err != nil {
			return fmt.Errorf("images: %w", err)
		}
		for i, v := range x[:k*d0] {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("images: %s: image %d pixel %d is %v, want a value in [0,1]", o.images, done+i/d0, i%d0, v)
			}
		}
		var lab []int
		if lr != nil {
			if _, err := lr.Read(lb8[:k]); err != nil {
				return fmt.Errorf("labels: %w", err)
			}
			for i, l := range lb8[:k] {
				if int(l) >= classes {
					return fmt.Errorf("labels: %s: label %d is %d, but the model has %d classes (0 … %d)", o.labels, done+i, l, classes, classes-1)
				}
				labels[i] = int(l)
			}
			lab = labels[:k]
		}
		start := time.Now()
		if err := c.CertifyBatch(ctx, x[:k*d0], lab, certs[:k]); err != nil {
			return err
		}
		elapsed += time.Since(start)
		if out == nil {
			if out, err = newOutput(stdout, o, c, lr != nil); err != nil {
				return err
			}
		}
		for i, ct := range certs[:k] {
			l := -1
			if lab != nil {
				l = lab[i]
			}
			t.add(ct, l)
			out.record(done+i, ct, l)
		}
		if err := out.err(); err != nil {
			return err
		}
		done += k
	}
	if o.limit == 0 || o.limit >= ims.N {
		// The whole file was asked for: check that it ends where its header
		// says (and, for gzip, its checksum).
		if _, err := ims.Read(x[:d0]); err != io.EOF {
			return fmt.Errorf("images: %w", err)
		}
		if lr != nil {
			if _, err := lr.Read(lb8[:1]); err != io.EOF {
				return fmt.Errorf("labels: %w", err)
			}
		}
	}
	if out == nil {
		if out, err = newOutput(stdout, o, c, lr != nil); err != nil {
			return err
		}
	}
	return out.finish(t.summary(c, elapsed))
}

// locateData points o.images and o.labels at the files of the --data
// set's split, found or downloaded as lrrn-train finds them; certify then
// streams them as it does files named on the command line, so the report
// is the same.
func locateData(o *options, stderr io.Writer) error {
	split := dataset.Test
	if o.split == "train" {
		split = dataset.Train
	}
	if cli.IsTerminal(stderr) {
		dataset.Default.Progress = stderr
	}
	dir, err := dataset.Locate(o.data, o.dataDir)
	if err != nil {
		return err
	}
	o.images, o.labels = dataset.SplitFiles(dir, split)
	return nil
}
