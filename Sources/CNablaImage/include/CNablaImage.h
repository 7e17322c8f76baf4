// CNablaImage: JPEG and PNG decoding and encoding through the system's libjpeg-turbo and libpng.
//
// Every function is total: a damaged or hostile file returns an error code and a message in
// `error`, never a crash or an exit (libjpeg's fatal errors are caught with setjmp here).
// Pixels are 8-bit, row-major, interleaved channels (HWC).
#ifndef CNABLA_IMAGE_H
#define CNABLA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Reads the size of a JPEG or PNG image without decoding it; returns 0 on success.
int nbl_image_info(const uint8_t *data, size_t size, int *width, int *height, int *channels, char *error,
                   size_t errorSize);

/// Decodes a JPEG or PNG image into `pixels` (capacity `capacity` bytes) with `channels` channels
/// (1 grey, 3 RGB), converting as needed; returns 0 on success. The image must be width×height as
/// nbl_image_info reported.
int nbl_image_decode(const uint8_t *data, size_t size, int channels, uint8_t *pixels, size_t capacity, char *error,
                     size_t errorSize);

/// Encodes pixels (width×height×channels, channels 1 or 3) as PNG into a buffer allocated with
/// malloc (`*out`, `*outSize`; free with nbl_image_free); returns 0 on success.
int nbl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outSize,
                   char *error, size_t errorSize);

/// Encodes pixels as baseline JPEG at `quality` (1–100), like nbl_png_encode.
int nbl_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                    size_t *outSize, char *error, size_t errorSize);

/// Frees a buffer returned by an encoder.
void nbl_image_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
