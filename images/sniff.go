package images

import (
	"bytes"
	"mime"
	"net/http"

	"github.com/listinggen/listinggen"
)

// Format is an image file format the stage accepts or produces.
type Format string

const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatWebP Format = "webp"
)

// ContentType returns the MIME type of f.
func (f Format) ContentType() string {
	switch f {
	case FormatJPEG, FormatPNG, FormatGIF, FormatWebP:
		return "image/" + string(f)
	}
	return "application/octet-stream"
}

// Sniff identifies the format from the leading bytes of data. Declared
// content types and file names are never trusted. It returns an EINVALID
// error naming what the bytes look like when they are not a supported image.
func Sniff(data []byte) (Format, error) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return FormatJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF, nil
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP, nil
	}
	if len(data) == 0 {
		return "", listinggen.Errorf(listinggen.EINVALID, "not an image: the file is empty")
	}
	looks := http.DetectContentType(data)
	if mt, _, err := mime.ParseMediaType(looks); err == nil {
		looks = mt
	}
	return "", listinggen.Errorf(listinggen.EINVALID,
		"not a supported image (the content looks like %s); JPEG, PNG, GIF and WebP are accepted", looks)
}
