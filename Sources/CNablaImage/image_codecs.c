// JPEG (libjpeg-turbo) and PNG (libpng simplified API) codecs behind the total functions of
// CNablaImage.h. The format is chosen by magic number: FF D8 FF for JPEG, 89 'PNG' for PNG.
#include "CNablaImage.h"

// stdio.h first: jpeglib.h uses FILE without including it.
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// Largest side accepted: refuses decompression bombs before any allocation.
enum { NBL_MAX_SIDE = 1 << 15 };

static int is_jpeg(const uint8_t *d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }
static int is_png(const uint8_t *d, size_t n) { return n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0; }

static int fail(char *error, size_t size, const char *message) {
    if (error && size) snprintf(error, size, "%s", message);
    return 1;
}

// libjpeg reports fatal errors through error_exit, which must not return: jump back instead.
typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} nbl_jpeg_error;

static void nbl_jpeg_error_exit(j_common_ptr info) {
    nbl_jpeg_error *e = (nbl_jpeg_error *)info->err;
    (*info->err->format_message)(info, e->message);
    longjmp(e->jump, 1);
}

static void nbl_jpeg_silent(j_common_ptr info) { (void)info; }

// libjpeg only warns about damaged data (a scan cut short, a bad Huffman code) and fills the rest
// with grey; a dataset image that is damaged is an error, so a warning ends the decode too.
static void nbl_jpeg_warning_is_error(j_common_ptr info, int level) {
    if (level < 0) nbl_jpeg_error_exit(info);
}

static int jpeg_decode(const uint8_t *data, size_t size, int want, uint8_t *pixels, size_t capacity, int *w, int *h,
                       int *c, char *error, size_t errorSize) {
    struct jpeg_decompress_struct info;
    nbl_jpeg_error err;
    info.err = jpeg_std_error(&err.base);
    err.base.error_exit = nbl_jpeg_error_exit;
    err.base.output_message = nbl_jpeg_silent;
    err.base.emit_message = nbl_jpeg_warning_is_error;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&info);
        char text[JMSG_LENGTH_MAX + 32];
        snprintf(text, sizeof text, "JPEG: %s", err.message);
        return fail(error, errorSize, text);
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if (info.image_width > NBL_MAX_SIDE || info.image_height > NBL_MAX_SIDE) {
        jpeg_destroy_decompress(&info);
        return fail(error, errorSize, "JPEG: image larger than 32768 pixels on a side");
    }
    if (w) *w = (int)info.image_width;
    if (h) *h = (int)info.image_height;
    if (c) *c = info.num_components == 1 ? 1 : 3;
    if (!pixels) {
        jpeg_destroy_decompress(&info);
        return 0;
    }
    info.out_color_space = want == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    if ((size_t)info.output_components != (size_t)want || stride * info.output_height > capacity) {
        jpeg_destroy_decompress(&info);
        return fail(error, errorSize, "JPEG: decoded size does not match the buffer");
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + (size_t)info.output_scanline * stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return 0;
}

static int png_decode(const uint8_t *data, size_t size, int want, uint8_t *pixels, size_t capacity, int *w, int *h,
                      int *c, char *error, size_t errorSize) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        char text[128];
        snprintf(text, sizeof text, "PNG: %s", image.message);
        return fail(error, errorSize, text);
    }
    if (image.width > NBL_MAX_SIDE || image.height > NBL_MAX_SIDE) {
        png_image_free(&image);
        return fail(error, errorSize, "PNG: image larger than 32768 pixels on a side");
    }
    if (w) *w = (int)image.width;
    if (h) *h = (int)image.height;
    if (c) *c = (image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    if (!pixels) {
        png_image_free(&image);
        return 0;
    }
    image.format = want == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (PNG_IMAGE_SIZE(image) > capacity) {
        png_image_free(&image);
        return fail(error, errorSize, "PNG: decoded size does not match the buffer");
    }
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        char text[128];
        snprintf(text, sizeof text, "PNG: %s", image.message);
        png_image_free(&image);
        return fail(error, errorSize, text);
    }
    return 0;
}

int nbl_image_info(const uint8_t *data, size_t size, int *width, int *height, int *channels, char *error,
                   size_t errorSize) {
    if (is_jpeg(data, size)) return jpeg_decode(data, size, 3, NULL, 0, width, height, channels, error, errorSize);
    if (is_png(data, size)) return png_decode(data, size, 3, NULL, 0, width, height, channels, error, errorSize);
    return fail(error, errorSize, "not a JPEG or PNG file (unknown magic number)");
}

int nbl_image_decode(const uint8_t *data, size_t size, int channels, uint8_t *pixels, size_t capacity, char *error,
                     size_t errorSize) {
    if (channels != 1 && channels != 3) return fail(error, errorSize, "channels must be 1 or 3");
    if (is_jpeg(data, size)) return jpeg_decode(data, size, channels, pixels, capacity, NULL, NULL, NULL, error, errorSize);
    if (is_png(data, size)) return png_decode(data, size, channels, pixels, capacity, NULL, NULL, NULL, error, errorSize);
    return fail(error, errorSize, "not a JPEG or PNG file (unknown magic number)");
}

int nbl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outSize,
                   char *error, size_t errorSize) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) return fail(error, errorSize, image.message);
    uint8_t *buffer = malloc(size);
    if (!buffer) return fail(error, errorSize, "PNG: out of memory");
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, 0, NULL)) {
        free(buffer);
        return fail(error, errorSize, image.message);
    }
    *out = buffer;
    *outSize = size;
    return 0;
}

int nbl_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                    size_t *outSize, char *error, size_t errorSize) {
    struct jpeg_compress_struct info;
    nbl_jpeg_error err;
    info.err = jpeg_std_error(&err.base);
    err.base.error_exit = nbl_jpeg_error_exit;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return fail(error, errorSize, err.message);
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = channels;
    info.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width * (size_t)channels);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *outSize = size;
    return 0;
}

void nbl_image_free(void *buffer) { free(buffer); }
