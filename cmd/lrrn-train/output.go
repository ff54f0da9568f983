package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/lrrn/lrrn/internal/plot"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

// epochOutput writes what a finished epoch leaves besides the checkpoint:
// the progress line, a --log line, the --plot curves and the --filters
// grid. An error writing the log stops the log (the first is kept in
// logErr), not the run; plot errors are reported and the run goes on.
type epochOutput struct {
	o            *options
	m            *lrrn.Model
	unsupervised bool
	prog         *progress
	log          *csvLog
	logErr       error // the first error writing the log
	hist         []train.EpochRecord
	stderr       io.Writer
}

func (ep *epochOutput) done(r train.EpochRecord) {
	ep.prog.epochDone(r)
	if ep.log != nil && ep.logErr == nil {
		if ep.logErr = ep.log.write(r); ep.logErr != nil {
			fmt.Fprintln(ep.stderr, "lrrn-train: --log:", ep.logErr, "(no more lines are written; the run goes on)")
		}
	}
	ep.hist = append(ep.hist, r)
	if ep.o.plotPath != "" {
		if err := plot.Curves(ep.o.plotPath, ep.hist, ep.unsupervised); err != nil {
			fmt.Fprintln(ep.stderr, "lrrn-train: --plot:", err)
		}
	}
	if ep.o.filters != "" {
		if err := plot.Filters(ep.o.filters, ep.m, 0); err != nil {
			fmt.Fprintln(ep.stderr, "lrrn-train: --filters:", err)
		}
	}
}

// csvLog appends one line per epoch.
type csvLog struct{ f *os.File }

const csvHeader = "epoch,loss,test_loss,test_acc,rho,rho_estimate_not_sound,mean_margin,median_margin,median_delta,median_certified_radius,seconds,cert_0.5,cert_1.0,cert_1.58,obj_loss\n"

func openLog(path string, resume bool) (*csvLog, error) {
	if path == "" {
		return nil, nil
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--log: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		if _, err := f.WriteString(csvHeader); err != nil {
			f.Close()
			return nil, fmt.Errorf("--log: %w", err)
		}
	}
	return &csvLog{f}, nil
}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func (l *csvLog) write(r train.EpochRecord) error {
	_, err := fmt.Fprintf(l.f, "%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%s,%s,%s,%s\n", r.Epoch, num(r.Loss), num(r.TestLoss), num(r.Accuracy), num(r.Rho),
		num(r.RhoEstimate), num(r.MeanMargin), num(r.MedianMargin), num(r.MedianDelta), num(r.MedianRadius), r.Seconds,
		num(r.Cert05), num(r.Cert10), num(r.Cert158), num(r.ObjLoss))
	return err
}

func (l *csvLog) Close() error { return l.f.Close() }

// progress shows a live line on a terminal and one plain line per epoch
// otherwise.
type progress struct {
	w                io.Writer
	tty              bool
	batches, batch   int
	epochs           int
	start, lastDraw  time.Time
	epochStart       time.Time
	curEpoch, doneEx int
	evalName         string // "test" or "held-out"
}

func newProgress(w io.Writer, batches, batch, epochs int) *progress {
	p := &progress{w: w, batches: batches, batch: batch, epochs: epochs, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(pr train.Progress) {
	if pr.Epoch != p.curEpoch {
		p.curEpoch, p.epochStart, p.doneEx = pr.Epoch, time.Now(), 0
	}
	if !p.tty || time.Since(p.lastDraw) < 200*time.Millisecond {
		return
	}
	p.lastDraw = time.Now()
	el := time.Since(p.epochStart).Seconds()
	rate := float64(pr.Batch*p.batch) / el
	left := float64(p.batches-pr.Batch) * float64(p.batch) / rate
	all := left + float64(max(0, p.epochs-pr.Epoch)*p.batches*p.batch)/rate // training only, without evaluations
	fmt.Fprintf(p.w, "\r\x1b[Kepoch %d/%d  batch %d/%d  %.0f examples/s  loss %.5f  ETA epoch %s, run %s",
		pr.Epoch, p.epochs, pr.Batch, pr.Batches, rate, pr.RunningLoss,
		(time.Duration(left) * time.Second).Round(time.Second), (time.Duration(all) * time.Second).Round(time.Second))
}

func (p *progress) epochDone(r train.EpochRecord) {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	line := fmt.Sprintf("epoch %d/%d  loss %.5f", r.Epoch, p.epochs, r.Loss)
	if !math.IsNaN(r.Accuracy) {
		line += fmt.Sprintf("  %s acc %.2f%%  certified %.1f%% / %.1f%% / %.1f%% at 0.5 / 1 / 1.58  ρ %.4f (power-iteration estimate %.4f)  median m %.4f  median δ %.4f (certified %.4f)",
			p.evalName, 100*r.Accuracy, 100*r.Cert05, 100*r.Cert10, 100*r.Cert158, r.Rho, r.RhoEstimate, r.MedianMargin, r.MedianDelta, r.MedianRadius)
		if !math.IsNaN(r.ObjLoss) {
			line += fmt.Sprintf("  ℓ %.4f", r.ObjLoss)
		}
	} else {
		line += fmt.Sprintf("  test F %.5f  ρ %.4f", r.TestLoss, r.Rho)
	}
	line += fmt.Sprintf("  %.1fs", r.Seconds)
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
