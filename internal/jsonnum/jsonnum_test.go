package jsonnum

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFinite(t *testing.T) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1.5, -2e300, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		p := Finite(x)
		require.NotNil(t, p, "%v", x)
		assert.Equal(t, math.Float64bits(x), math.Float64bits(*p), "%v", x)
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		p := Finite(x)
		assert.Nil(t, p, "%v", x)
		b, err := json.Marshal(struct{ V *float64 }{p})
		require.NoError(t, err)
		assert.Equal(t, `{"V":null}`, string(b))
	}
}
