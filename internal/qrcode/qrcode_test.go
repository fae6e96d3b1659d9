package qrcode

import (
	"bytes"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decode reads a QR code back from a PNG with an independent decoder.
func decode(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, pureBarcode)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText()
}

func TestPNGDecodesToTheText(t *testing.T) {
	for _, text := range []string{
		"https://leads.example.com/c/belize-expo-2027",
		"http://127.0.0.1:8080/c/abc",
		"https://example.com/c/" + strings.Repeat("a", 64),
	} {
		c, err := Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.PNG(8)
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(t, b); got != text {
			t.Errorf("decoded %q, want %q", got, text)
		}
		img, _ := png.Decode(bytes.NewReader(b))
		if w := img.Bounds().Dx(); w != (c.Size()+8)*8 {
			t.Errorf("width %d, want %d (code and quiet zone)", w, (c.Size()+8)*8)
		}
		again, _ := c.PNG(8)
		if !bytes.Equal(b, again) {
			t.Error("PNG is not deterministic")
		}
	}
}

// TestSVGMatchesTheCode redraws the SVG's path as modules and compares
// them with the code, then decodes the redrawing.
func TestSVGMatchesTheCode(t *testing.T) {
	text := "https://leads.example.com/c/expo"
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(c.SVG(`QR code of <expo> & "more"`))
	if !strings.Contains(svg, `<title>QR code of &lt;expo&gt; &amp; &#34;more&#34;</title>`) {
		t.Fatalf("title not escaped: %s", svg[:200])
	}
	side := c.Size() + 2*quietZone
	img := image.NewGray(image.Rect(0, 0, side*4, side*4))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	grid := make([]bool, side*side)
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		for i := range n {
			grid[y*side+x+i] = true
		}
	}
	for y := range side {
		for x := range side {
			inside := x >= quietZone && y >= quietZone && x < quietZone+c.Size() && y < quietZone+c.Size()
			want := inside && c.Dark(x-quietZone, y-quietZone)
			if grid[y*side+x] != want {
				t.Fatalf("module %d,%d: svg %v, code %v", x, y, grid[y*side+x], want)
			}
			if want {
				for dy := range 4 {
					for dx := range 4 {
						img.Pix[(y*4+dy)*img.Stride+x*4+dx] = 0
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if got := decode(t, buf.Bytes()); got != text {
		t.Fatalf("SVG decodes to %q", got)
	}
}

func TestEncodeTooLong(t *testing.T) {
	if _, err := Encode(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("a 5000-byte text encoded")
	}
}

// pureBarcode tells the decoder the image is a generated code with its quiet
// zone and nothing else; without it the decoder's finder-pattern search
// misreads about one code in six hundred.
var pureBarcode = map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
