package images

import (
	"bytes"
	"encoding/binary"
)

// Orientation is the EXIF orientation tag (1–8): how the stored pixels must
// be transformed to be displayed upright.
type Orientation int

const (
	OrientNormal     Orientation = 1
	OrientFlipH      Orientation = 2
	OrientRotate180  Orientation = 3
	OrientFlipV      Orientation = 4
	OrientTranspose  Orientation = 5
	OrientRotate90   Orientation = 6 // rotate 90° clockwise to display
	OrientTransverse Orientation = 7
	OrientRotate270  Orientation = 8 // rotate 90° counter-clockwise to display
)

// swapsAxes reports whether displaying the image swaps width and height.
func (o Orientation) swapsAxes() bool { return o >= OrientTranspose && o <= OrientRotate270 }

// readOrientation returns the EXIF orientation of a JPEG, PNG (eXIf) or
// WebP (EXIF chunk) file, or OrientNormal when there is none or it cannot be
// read. It never reads past data and never allocates more than it is given.
func readOrientation(data []byte, f Format) Orientation {
	var tiff []byte
	switch f {
	case FormatJPEG:
		tiff = jpegExif(data)
	case FormatPNG:
		tiff = pngExif(data)
	case FormatWebP:
		tiff = webpExif(data)
	}
	if tiff == nil {
		return OrientNormal
	}
	return tiffOrientation(tiff)
}

var exifHeader = []byte("Exif\x00\x00")

func jpegExif(data []byte) []byte {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil
	}
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xFF {
			return nil
		}
		marker := data[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			p += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return nil
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, exifHeader) {
			return seg[len(exifHeader):]
		}
		p += 2 + n
	}
	return nil
}

func pngExif(data []byte) []byte {
	p := 8
	for p+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if n < 0 || n > len(data)-p-12 {
			return nil
		}
		body := data[p+8 : p+8+n]
		switch typ {
		case "eXIf":
			return bytes.TrimPrefix(body, exifHeader)
		case "IDAT", "IEND":
			return nil
		}
		p += 12 + n
	}
	return nil
}

func webpExif(data []byte) []byte {
	p := 12
	for p+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if n < 0 || n > len(data)-p-8 {
			return nil
		}
		if string(data[p:p+4]) == "EXIF" {
			return bytes.TrimPrefix(data[p+8:p+8+n], exifHeader)
		}
		p += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF blob.
func tiffOrientation(t []byte) Orientation {
	if len(t) < 8 {
		return OrientNormal
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return OrientNormal
	}
	if bo.Uint16(t[2:]) != 42 {
		return OrientNormal
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return OrientNormal
	}
	count := int64(bo.Uint16(t[ifd:]))
	for i := int64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(t)) {
			return OrientNormal
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(t[e+2:]); typ != 3 { // SHORT
			return OrientNormal
		}
		if v := Orientation(bo.Uint16(t[e+8:])); v >= OrientNormal && v <= OrientRotate270 {
			return v
		}
		return OrientNormal
	}
	return OrientNormal
}
