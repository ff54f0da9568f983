package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// seriesColors are the colours of Lines' series, in order: blue, red,
// green, orange, purple, brown.
var seriesColors = []color.RGBA{blue, red, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}}

// Lines draws several series over the same xs (ascending) into one chart
// with fixed axis ranges and writes it to path as PNG. Series are coloured
// in the order blue, red, green, orange, purple, brown; the caller names
// them (the built-in font has few letters). xstep is the spacing of the x
// ticks, xfmt and yfmt format the tick labels.
func Lines(path, title, xlabel string, xs []float64, series [][]float64, xmin, xmax, ymin, ymax, xstep float64, xfmt, yfmt string) error {
	if len(series) > len(seriesColors) {
		return fmt.Errorf("plot: %d series, at most %d", len(series), len(seriesColors))
	}
	if !(xmax > xmin) || !(ymax > ymin) || !(xstep > 0) {
		return fmt.Errorf("plot: empty axis range")
	}
	for _, s := range series {
		if len(s) != len(xs) {
			return fmt.Errorf("plot: a series has %d values for %d x values", len(s), len(xs))
		}
	}
	const W, H = 640, 420
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), white)
	text(img, 70, 6, title, black, 2)
	pr := image.Rect(70, 34, W-20, H-40)
	fill(img, image.Rect(pr.Min.X, pr.Max.Y, pr.Max.X, pr.Max.Y+1), black)
	fill(img, image.Rect(pr.Min.X-1, pr.Min.Y, pr.Min.X, pr.Max.Y), black)
	X := func(v float64) float64 { return float64(pr.Min.X) + (v-xmin)/(xmax-xmin)*float64(pr.Dx()) }
	Y := func(v float64) float64 { return float64(pr.Max.Y) - (v-ymin)/(ymax-ymin)*float64(pr.Dy()) }
	for i := 0; i <= 5; i++ {
		v := ymin + float64(i)/5*(ymax-ymin)
		y := int(Y(v))
		fill(img, image.Rect(pr.Min.X, y, pr.Max.X, y+1), grey)
		text(img, 4, y-3, fmt.Sprintf(yfmt, v), black, 1)
	}
	for v := xmin; v <= xmax+1e-9*(xmax-xmin); v += xstep {
		x := int(X(v))
		fill(img, image.Rect(x, pr.Max.Y, x+1, pr.Max.Y+5), black)
		text(img, x-8, pr.Max.Y+8, fmt.Sprintf(xfmt, v), black, 1)
	}
	text(img, pr.Max.X-6*len(xlabel)-4, pr.Max.Y+22, xlabel, black, 1)
	clampY := func(v float64) float64 { return math.Max(ymin, math.Min(ymax, v)) }
	for k, s := range series {
		c := seriesColors[k]
		for i := 1; i < len(xs); i++ {
			if math.IsNaN(s[i-1]) || math.IsNaN(s[i]) {
				continue
			}
			line(img, X(xs[i-1]), Y(clampY(s[i-1])), X(xs[i]), Y(clampY(s[i])), c)
		}
	}
	return writePNG(path, img)
}
