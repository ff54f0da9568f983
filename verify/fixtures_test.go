package verify

import (
	"os"
	"testing"

	"github.com/lrrn/lrrn/idx"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// trainedModelPaths lists, in order of preference, the trained MNIST
// 784-64-64-10 models the soundness tests use: $LRRN_TEST_MODEL, the
// project's 100-epoch model of the paper's Table 1 setting (results/, from
// lrrn-experiments), then the 10-epoch model committed with this package
// (testdata/README.md says how it was trained).
var trainedModelPaths = []string{"../results/mnist-wd1e-5/model.lrrn", "testdata/mnist-784-64-64-10-10ep.lrrn"}

func trainedModel(t testing.TB) (*lrrn.Model, string) {
	paths := trainedModelPaths
	if p := os.Getenv("LRRN_TEST_MODEL"); p != "" {
		paths = append([]string{p}, paths...)
	}
	for _, p := range paths {
		m, err := lrrn.Load(p)
		if err == nil {
			return m, p
		}
		if p == os.Getenv("LRRN_TEST_MODEL") {
			require.NoError(t, err, "LRRN_TEST_MODEL")
		}
	}
	t.Fatalf("no trained model among %v", paths)
	return nil, ""
}

// mnistFixture returns the 500 real MNIST test images of the project's
// fixture and their labels.
func mnistFixture(t testing.TB) (*idx.Images, []int) {
	im, err := idx.ReadImages("../testdata/mnist-t500-images-idx3-ubyte.gz")
	require.NoError(t, err)
	lb, err := idx.ReadLabels("../testdata/mnist-t500-labels-idx1-ubyte.gz")
	require.NoError(t, err)
	require.Equal(t, im.N, len(lb))
	labels := make([]int, len(lb))
	for i, l := range lb {
		labels[i] = int(l)
	}
	return im, labels
}
