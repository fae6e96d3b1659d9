// Package qrcode draws QR codes of booth form links as PNG and SVG. The
// encoding is github.com/boombuler/barcode's; this package adds the quiet
// zone scanners need and writes both formats the same way every time, so
// the same link always gives the same bytes.
package qrcode

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// quietZone is the light margin around a code, in modules, that the
// standard asks for.
const quietZone = 4

// Code is an encoded QR code: a square of dark and light modules.
type Code struct {
	size int
	dark []bool
}

// Encode makes the QR code of text with error correction level M (15% of
// the code may be lost: a creased or smudged sign still scans).
func Encode(text string) (*Code, error) {
	b, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qrcode: encode: %w", err)
	}
	r := b.Bounds()
	c := &Code{size: r.Dx(), dark: make([]bool, r.Dx()*r.Dy())}
	for y := range r.Dy() {
		for x := range r.Dx() {
			gray := color.GrayModel.Convert(b.At(r.Min.X+x, r.Min.Y+y)).(color.Gray)
			c.dark[y*c.size+x] = gray.Y < 128
		}
	}
	return c, nil
}

// Size is the width of the code in modules, without the quiet zone.
func (c *Code) Size() int { return c.size }

// Dark reports whether the module at x, y is dark.
func (c *Code) Dark(x, y int) bool { return c.dark[y*c.size+x] }

// PNG draws the code with its quiet zone, each module scale pixels wide,
// as a two-colour PNG.
func (c *Code) PNG(scale int) ([]byte, error) {
	scale = max(scale, 1)
	side := (c.size + 2*quietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range c.size {
		for x := range c.size {
			if !c.Dark(x, y) {
				continue
			}
			for dy := range scale {
				row := img.Pix[((quietZone+y)*scale+dy)*img.Stride:]
				for dx := range scale {
					row[(quietZone+x)*scale+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qrcode: png: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG draws the code with its quiet zone as one path, one unit per
// module, so it prints sharp at any size. title is the accessible name of
// the image (escaped here).
func (c *Code) SVG(title string) []byte {
	side := c.size + 2*quietZone
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img">`, side, side)
	b.WriteString(`<title>`)
	xml.EscapeText(&b, []byte(title))
	b.WriteString(`</title>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, side, side)
	for y := range c.size {
		for x := 0; x < c.size; {
			if !c.Dark(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < c.size && c.Dark(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}
