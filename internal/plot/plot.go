// Package plot draws charts — line charts with legends, axis labels and
// readable ticks (Chart, built on gonum.org/v1/plot), such as the training
// curves of an LRRN — as PNG or SVG, and the first-layer filters of a model
// as a PNG grid of tiles.
package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/lrrn/lrrn/internal/atomicfile"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
)

// writePNG writes img to path atomically (atomicfile.Write).
func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes())
}

var (
	white = color.RGBA{255, 255, 255, 255}
)

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// Curves draws the per-epoch training loss (log scale) and the test
// accuracy (supervised) or test free energy (unsupervised) side by side,
// like the paper's Figs. 3 and 5, and writes them to path (PNG or SVG by
// the extension). The training loss is the output loss ℓ of a nudged
// objective where every record has it (the contrastive J of a driven
// estimator is near zero by design), else J or F; an axis with a value
// ≤ 0 is linear.
func Curves(path string, hist []train.EpochRecord, unsupervised bool) error {
	xs := make([]float64, len(hist))
	loss := make([]float64, len(hist))
	right := make([]float64, len(hist))
	useObj := !unsupervised && len(hist) > 0
	for _, r := range hist {
		useObj = useObj && r.ObjLoss > 0
	}
	positive := true
	for i, r := range hist {
		xs[i] = float64(r.Epoch)
		loss[i] = r.Loss
		if useObj {
			loss[i] = r.ObjLoss
		}
		positive = positive && loss[i] > 0
		if unsupervised {
			right[i] = r.TestLoss
		} else {
			right[i] = 100 * r.Accuracy
		}
	}
	name := "contrastive loss J"
	switch {
	case unsupervised:
		name = "free energy F"
	case useObj:
		name = "output loss ℓ"
	}
	left := NewChart("Training loss", "epoch", "mean loss per example (log scale)")
	left.LogY = positive
	if !positive {
		left.YLabel = "mean loss per example"
	}
	left.Lines = []Line{{Name: "training, " + name, X: xs, Y: loss}}
	r := NewChart("Test accuracy", "epoch", "accuracy (%)")
	r.Lines = []Line{{Name: "clean", X: xs, Y: right}}
	r.LegendLeft = true
	// certified accuracies, where the records have them (runs since they
	// were recorded; NaN otherwise)
	for k, eps := range train.CertRadii {
		if unsupervised {
			break
		}
		l := Line{Name: fmt.Sprintf("certified at ε = %g", eps), Dashed: true}
		for _, rec := range hist {
			if v := [...]float64{rec.Cert05, rec.Cert10, rec.Cert158}[k]; !math.IsNaN(v) {
				l.X, l.Y = append(l.X, float64(rec.Epoch)), append(l.Y, 100*v)
			}
		}
		if len(l.X) > 0 {
			r.Lines = append(r.Lines, l)
		}
	}
	if unsupervised {
		r = NewChart("Test free energy", "epoch", "mean free energy F per example")
		r.Lines = []Line{{Name: "test set", X: xs, Y: right}}
	}
	return SaveRow(path, left, r)
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
