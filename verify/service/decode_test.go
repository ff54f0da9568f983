package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/lrrn/lrrn/internal/memtest"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz model: 3 inputs, 4 classes, at most 4 inputs per request.
const fd0, fClasses, fMaxBatch = 3, 4, 4

// reference decodes a body the way the service did before it streamed
// (encoding/json into a struct, then the same checks), returning the
// inputs and labels of an acceptable request, or ok = false.
func reference(body []byte) (x []float32, labels []int, isBatch, ok bool) {
	var req struct {
		Pixels []float64   `json:"pixels"`
		Label  *int        `json:"label"`
		Batch  [][]float64 `json:"batch"`
		Labels []int       `json:"labels"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(&req) != nil || dec.Decode(&struct{}{}) != io.EOF {
		return nil, nil, false, false
	}
	var inputs [][]float64
	switch {
	case req.Pixels != nil && req.Batch != nil:
		return nil, nil, false, false
	case req.Pixels != nil:
		if req.Labels != nil {
			return nil, nil, false, false
		}
		inputs = [][]float64{req.Pixels}
		if req.Label != nil {
			labels = []int{*req.Label}
		}
	case req.Batch != nil:
		isBatch = true
		if req.Label != nil || len(req.Batch) == 0 || len(req.Batch) > fMaxBatch || req.Labels != nil && len(req.Labels) != len(req.Batch) {
			return nil, nil, false, false
		}
		inputs, labels = req.Batch, req.Labels
	default:
		return nil, nil, false, false
	}
	for _, l := range labels {
		if l < -1 || l >= fClasses {
			return nil, nil, false, false
		}
	}
	for _, in := range inputs {
		if len(in) != fd0 {
			return nil, nil, false, false
		}
		for _, v := range in {
			if !(v >= 0 && v <= 1) {
				return nil, nil, false, false
			}
			x = append(x, float32(v))
		}
	}
	return x, labels, isBatch, true
}

func decodeBody(body []byte) (*request, error) {
	return newDecoder(bytes.NewReader(body), fd0, fClasses, fMaxBatch).decode()
}

// checkDecode is FuzzCertifyRequest's property: the streaming decoder
// never holds more than the limits allow, rejects with 400, 413 or 422
// and a message, and accepts only what encoding/json (with the API's
// checks) accepts, with the same inputs and labels; and whatever
// encoding/json accepts, the decoder accepts in its canonical encoding.
func checkDecode(t *testing.T, body []byte) {
	req, err := decodeBody(body)
	x, labels, isBatch, ok := reference(body)
	if err != nil {
		var re *requestError
		require.True(t, errors.As(err, &re), "%T %v", err, err)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, re.status)
		require.NotEmpty(t, re.msg)
		require.NotContains(t, re.msg, "service.", "errors speak the API's words")
	} else {
		require.True(t, ok, "the decoder accepted %q, encoding/json does not", body)
		require.LessOrEqual(t, cap(req.x), fMaxBatch*fd0)
		require.Equal(t, x, req.x)
		require.Equal(t, labels, req.labels)
		require.Equal(t, isBatch, req.batch)
		require.Equal(t, len(x)/fd0, req.n)
	}
	if !ok {
		return
	}
	// The canonical form of what encoding/json accepted.
	canon := map[string]any{}
	if isBatch {
		var b [][]float32
		for i := 0; i < len(x); i += fd0 {
			b = append(b, x[i:i+fd0])
		}
		canon["batch"] = b
		if labels != nil {
			canon["labels"] = labels
		}
	} else {
		canon["pixels"] = x
		if labels != nil {
			canon["label"] = labels[0]
		}
	}
	cb, err := json.Marshal(canon)
	require.NoError(t, err)
	req, err = decodeBody(cb)
	require.NoError(t, err, "%s", cb)
	require.Equal(t, x, req.x)
	require.Equal(t, labels, req.labels)
}

var decodeSeeds = []string{
	`{"pixels": [0, 0.5, 1]}`,
	`{"pixels": [0, 0.5, 1], "label": 3}`,
	`{"label": -1, "pixels": [1e-3, 5E-1, 0.25]}`,
	`{"batch": [[0,0,0],[1,1,1]], "labels": [0, 3]}`,
	`{"batch": [[0,0,0]], "labels": null, "label": null}`,
	` {"pi\u0078els":[0,0,0]} ` + "\n",
	`{"pixels": [0, 0.5, 1]}{"pixels": [0, 0.5, 1]}`,
	`{"batch": [[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0]]}`,
	`{"pixels": [0, 0.5, 1, 0]}`,
	`{"pixels": [0, 0.5]}`,
	`{"pixels": [-0, 0.5, 1.0000000000000001]}`,
	`{"pixels": [0, 0.5, 1], "label": 4}`,
	`{"pixels": [0, 0.5, 1], "label": 1.0}`,
	`{"PIXELS": [0, 0.5, 1]}`,
	`{"pixels": [0, 0.5, 1], "pixels": [0, 0.5, 1]}`,
	`{"pixels": "abc"}`,
	`{"batch": [null]}`,
	`{"batch": []}`,
	`{}`,
	``,
	`[`,
	`{"pixels": [0, 0.5, 1e]}`,
	`{"pixels": [0, 0.5, 01]}`,
	`{"pixels": [0, .5, 1]}`,
}

func TestDecodeSeeds(t *testing.T) {
	for _, s := range decodeSeeds {
		t.Run(s, func(t *testing.T) { checkDecode(t, []byte(s)) })
	}
}

func FuzzCertifyRequest(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}

// TestDecodeBoundedByLimits: a body claiming a huge batch of tiny inputs,
// the request of the issue ({"batch":[[],[],…]}, 16 MiB), is rejected at
// the first input, having read and held almost nothing; one of many valid
// inputs at the first input beyond MaxBatch.
func TestDecodeBoundedByLimits(t *testing.T) {
	body := `{"batch":[` + strings.Repeat("[],", 5<<20) + `[]]}`
	r := strings.NewReader(body)
	_, err := newDecoder(r, 784, 10, 1024).decode()
	require.EqualError(t, err, "input 0 has 0 pixels, the model takes 784")
	assert.Greater(t, r.Len(), len(body)-64<<10, "bytes read before rejecting")

	img := "[" + strings.TrimSuffix(strings.Repeat("0.5,", 3), ",") + "]"
	body = `{"batch":[` + strings.Repeat(img+",", 100_000) + img + `]}`
	r = strings.NewReader(body)
	var req *request
	n := memtest.Allocated(func() { req, err = newDecoder(r, 3, 10, 1024).decode() })
	require.EqualError(t, err, "batch of more than 1024 inputs exceeds the limit of 1024")
	assert.Nil(t, req)
	assert.Less(t, n, uint64(1<<20), "bytes allocated")
}

// BenchmarkDecode: the streaming decoder against encoding/json (into the
// struct the service used before), on a body of 256 MNIST-sized inputs.
func BenchmarkDecode(b *testing.B) {
	f := newFixture(b)
	batch := make([][]float64, 256)
	for i := range batch {
		batch[i] = pixels(f.images.Image(i))
	}
	body, err := json.Marshal(map[string]any{"batch": batch})
	require.NoError(b, err)
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for range b.N {
			req, err := newDecoder(bytes.NewReader(body), 784, 10, 1024).decode()
			if err != nil || req.n != 256 {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for range b.N {
			var req struct {
				Batch [][]float64 `json:"batch"`
			}
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil || len(req.Batch) != 256 {
				b.Fatal(err)
			}
		}
	})
}
