// Package plot draws the training curves and first-layer filters of an
// LRRN as PNG images with the standard library only (a built-in 5×7
// bitmap font labels the axes).
package plot

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

// writePNG writes img to path atomically (temporary file, then rename).
func writePNG(path string, img image.Image) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = png.Encode(w, img)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
	grey  = color.RGBA{210, 210, 210, 255}
	blue  = color.RGBA{31, 119, 180, 255}
	red   = color.RGBA{214, 39, 40, 255}
)

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a 2-pixel-wide line by sampling.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := int(math.Round(x0+t*(x1-x0))), int(math.Round(y0+t*(y1-y0)))
		fill(img, image.Rect(x, y, x+2, y+2), c)
	}
}

// panel draws one line chart of ys over xs into r, with a title and axis
// ticks; logY plots log10 of positive values.
func panel(img *image.RGBA, r image.Rectangle, title string, xs, ys []float64, c color.RGBA, logY bool, yfmt string) {
	text(img, r.Min.X+60, r.Min.Y+4, title, black, 2)
	plotR := image.Rect(r.Min.X+60, r.Min.Y+28, r.Max.X-16, r.Max.Y-30)
	fill(img, image.Rect(plotR.Min.X, plotR.Max.Y, plotR.Max.X, plotR.Max.Y+1), black)
	fill(img, image.Rect(plotR.Min.X-1, plotR.Min.Y, plotR.Min.X, plotR.Max.Y), black)
	var px, py []float64
	for i := range xs {
		y := ys[i]
		if math.IsNaN(y) || math.IsInf(y, 0) || (logY && y <= 0) {
			continue
		}
		if logY {
			y = math.Log10(y)
		}
		px, py = append(px, xs[i]), append(py, y)
	}
	if len(px) == 0 {
		return
	}
	xmin, xmax := px[0], px[len(px)-1]
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	ymin, ymax := py[0], py[0]
	for _, v := range py {
		ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
	}
	if ymax-ymin < 1e-12 {
		ymin, ymax = ymin-0.5, ymax+0.5
	}
	pad := 0.05 * (ymax - ymin)
	ymin, ymax = ymin-pad, ymax+pad
	X := func(v float64) float64 {
		return float64(plotR.Min.X) + (v-xmin)/(xmax-xmin)*float64(plotR.Dx())
	}
	Y := func(v float64) float64 {
		return float64(plotR.Max.Y) - (v-ymin)/(ymax-ymin)*float64(plotR.Dy())
	}
	for i := 0; i <= 4; i++ { // y ticks and grid
		v := ymin + float64(i)/4*(ymax-ymin)
		y := int(Y(v))
		fill(img, image.Rect(plotR.Min.X, y, plotR.Max.X, y+1), grey)
		lv := v
		if logY {
			lv = math.Pow(10, v)
		}
		text(img, r.Min.X+2, y-3, fmt.Sprintf(yfmt, lv), black, 1)
	}
	step := math.Max(1, math.Ceil((xmax-xmin)/5))    // integer epochs
	for v := math.Ceil(xmin); v <= xmax; v += step { // x ticks
		x := int(X(v))
		fill(img, image.Rect(x, plotR.Max.Y, x+1, plotR.Max.Y+5), black)
		text(img, x-6, plotR.Max.Y+8, fmt.Sprintf("%.0f", v), black, 1)
	}
	text(img, plotR.Max.X-40, plotR.Max.Y+18, "EPOCH", black, 1)
	for i := 1; i < len(px); i++ {
		line(img, X(px[i-1]), Y(py[i-1]), X(px[i]), Y(py[i]), c)
	}
	if len(px) == 1 {
		fill(img, image.Rect(int(X(px[0]))-2, int(Y(py[0]))-2, int(X(px[0]))+3, int(Y(py[0]))+3), c)
	}
}

// Curves draws the per-epoch training loss (log scale) and test accuracy
// (supervised) or test free energy (unsupervised) side by side, like the
// paper's Figs. 3 and 5, and writes them to path as PNG.
func Curves(path string, hist []train.EpochRecord, unsupervised bool) error {
	const W, H = 1000, 380
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), white)
	xs := make([]float64, len(hist))
	loss := make([]float64, len(hist))
	right := make([]float64, len(hist))
	for i, r := range hist {
		xs[i] = float64(r.Epoch)
		loss[i] = r.Loss
		if unsupervised {
			right[i] = r.TestLoss
		} else {
			right[i] = 100 * r.Accuracy
		}
	}
	panel(img, image.Rect(0, 0, W/2, H), "TRAINING LOSS", xs, loss, blue, true, "%.3g")
	if unsupervised {
		panel(img, image.Rect(W/2, 0, W, H), "TEST FREE ENERGY", xs, right, red, false, "%.4g")
	} else {
		panel(img, image.Rect(W/2, 0, W, H), "TEST ACCURACY %", xs, right, red, false, "%.2f")
	}
	return writePNG(path, img)
}

// Filters draws the rows of W_layer (the filters of layer layer+1's units)
// as a grid of square tiles, each normalised to its own range for display
// (mid-grey is zero when the filter has both signs), and writes the PNG.
// The input size must be a square (784 = 28×28).
func Filters(path string, m *lrrn.Model, layer int) error {
	img, err := FilterImage(m, layer)
	if err != nil {
		return err
	}
	return writePNG(path, img)
}

// FilterImage returns the filter grid of Filters.
func FilterImage(m *lrrn.Model, layer int) (image.Image, error) {
	if layer < 0 || layer >= m.L() {
		return nil, fmt.Errorf("plot: layer %d out of range 0 … %d", layer, m.L()-1)
	}
	d := m.Sizes[layer]
	side := int(math.Round(math.Sqrt(float64(d))))
	if side*side != d {
		return nil, fmt.Errorf("plot: layer %d has %d units, not a square image", layer, d)
	}
	units := m.Sizes[layer+1]
	cols := int(math.Ceil(math.Sqrt(float64(units))))
	rows := (units + cols - 1) / cols
	const scale, gap = 3, 4
	tile := side*scale + gap
	img := image.NewRGBA(image.Rect(0, 0, cols*tile+gap, rows*tile+gap))
	fill(img, img.Bounds(), white)
	W := m.W[layer]
	for u := 0; u < units; u++ {
		f := W[u*d : (u+1)*d]
		var amax float32
		lo, hi := f[0], f[0]
		for _, v := range f {
			lo, hi = min(lo, v), max(hi, v)
			amax = max(amax, v, -v)
		}
		x0, y0 := gap+(u%cols)*tile, gap+(u/cols)*tile
		for p, v := range f {
			var g float64
			switch {
			case amax == 0:
				g = 0.5
			case lo < 0 && hi > 0: // signed: zero is mid-grey
				g = 0.5 + 0.5*float64(v/amax)
			default:
				g = float64((v - lo) / (hi - lo))
				if hi == lo {
					g = 0.5
				}
			}
			c := uint8(math.Round(255 * math.Max(0, math.Min(1, g))))
			px, py := x0+(p%side)*scale, y0+(p/side)*scale
			fill(img, image.Rect(px, py, px+scale, py+scale), color.RGBA{c, c, c, 255})
		}
	}
	return img, nil
}

// text draws s with the built-in 5×7 font at scale sc; unknown characters
// are blanks.
func text(img *image.RGBA, x, y int, s string, c color.RGBA, sc int) {
	for _, ch := range strings.ToUpper(s) {
		g, ok := font[ch]
		if ok {
			for row, bits := range g {
				for col := 0; col < 5; col++ {
					if bits[col] == '#' {
						fill(img, image.Rect(x+col*sc, y+row*sc, x+(col+1)*sc, y+(row+1)*sc), c)
					}
				}
			}
		}
		x += 6 * sc
	}
}
