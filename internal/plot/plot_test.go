package plot

import (
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/train"
	"github.com/stretchr/testify/require"
)

func TestFilterImageNormalisesEachTile(t *testing.T) {
	m, err := lrrn.New(lrrn.Config{Sizes: []int{4, 3, 2}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear}, Beta: []float64{1, 0}, Gamma: 0.5, Passes: 1})
	require.NoError(t, err)
	copy(m.W[0], []float32{
		-2, 0, 1, 2, // signed: −2 black, 0 mid-grey, 2 white
		5, 6, 7, 9, // one sign: min black, max white
		0, 0, 0, 0, // all zero: mid-grey
	})
	img, err := FilterImage(m, 0)
	require.NoError(t, err)
	// 3 units → 2×2 grid of 2×2-pixel filters at scale 3 with gaps of 4.
	require.Equal(t, 2*(2*3+4)+4, img.Bounds().Dx())
	at := func(u, p int) uint8 {
		x0, y0 := 4+(u%2)*10, 4+(u/2)*10
		c := color.GrayModel.Convert(img.At(x0+(p%2)*3+1, y0+(p/2)*3+1)).(color.Gray)
		return c.Y
	}
	require.Equal(t, uint8(0), at(0, 0))
	require.Equal(t, uint8(128), at(0, 1))
	require.Equal(t, uint8(255), at(0, 3))
	require.Equal(t, uint8(0), at(1, 0))
	require.Equal(t, uint8(255), at(1, 3))
	require.Equal(t, uint8(128), at(2, 2))

	_, err = FilterImage(m, 1) // 3 inputs: not a square
	require.ErrorContains(t, err, "not a square")
	_, err = FilterImage(m, 2)
	require.ErrorContains(t, err, "out of range")
}

func TestCurvesWritesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	hist := []train.EpochRecord{
		{Epoch: 1, Loss: 0.2, Accuracy: 0.9},
		{Epoch: 2, Loss: 0.1, Accuracy: math.NaN()}, // a gap is skipped
		{Epoch: 3, Loss: 0.05, Accuracy: 0.95},
	}
	require.NoError(t, Curves(path, hist, false))
	require.NoError(t, Curves(path, hist[:1], true)) // one point, unsupervised
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, 2*int(chartW.Dots(96)), img.Bounds().Dx(), "two charts side by side")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	require.Error(t, Curves(filepath.Join(t.TempDir(), "absent", "c.png"), hist, false))
}

// TestCurvesDrivenLoss: a driven estimator's J is near zero and may be
// negative; the chart then shows the output loss ℓ (log scale), and with
// neither positive a linear axis, instead of failing.
func TestCurvesDrivenLoss(t *testing.T) {
	dir := t.TempDir()
	hist := []train.EpochRecord{
		{Epoch: 1, Loss: -1e-5, Accuracy: 0.9, ObjLoss: 1.4},
		{Epoch: 2, Loss: 2e-6, Accuracy: 0.95, ObjLoss: 1.2},
	}
	svg := filepath.Join(dir, "c.svg")
	require.NoError(t, Curves(svg, hist, false))
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	require.Contains(t, string(b), "output loss ℓ")
	require.Contains(t, string(b), "(log scale)")
	hist[0].ObjLoss = math.NaN() // no ℓ in one record: J, linear
	require.NoError(t, Curves(svg, hist, false))
	b, err = os.ReadFile(svg)
	require.NoError(t, err)
	require.Contains(t, string(b), "contrastive loss J")
	require.NotContains(t, string(b), "(log scale)")
}
