// libpng's simplified API (png_image_*): decoding and encoding without setjmp on the caller's side.
#include <png.h>

// The low-level API for masks, whose samples are class numbers: no gamma, colour or palette
// transform, so a grey sample or a palette index is read as stored. libpng reports fatal errors by
// longjmp, which Swift cannot catch, so the decode runs here in C, as CJPEG's does.
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct kswap_png_source {
  const unsigned char *data;
  size_t size;
  size_t position;
  char *message;
  size_t message_size;
  jmp_buf jump;
};

static void kswap_png_error(png_structp png, png_const_charp text) {
  struct kswap_png_source *source = (struct kswap_png_source *)png_get_error_ptr(png);
  snprintf(source->message, source->message_size, "%s", text);
  longjmp(source->jump, 1);
}

// Warnings would go to stderr; libraries never print.
static void kswap_png_warning(png_structp png, png_const_charp text) { (void)png, (void)text; }

static void kswap_png_read(png_structp png, png_bytep out, size_t count) {
  struct kswap_png_source *source = (struct kswap_png_source *)png_get_io_ptr(png);
  if (count > source->size - source->position) png_error(png, "the file ends early (truncated PNG)");
  memcpy(out, source->data + source->position, count);
  source->position += count;
}

/// Reads the PNG in data[0..<size] as stored samples. With out == NULL only the header is read and
/// width, height, bit_depth (1, 2, 4, 8, 16), color_type (PNG's: 0 grey, 2 RGB, 3 palette, 4 grey
/// and alpha, 6 RGB and alpha) and channels (samples per pixel) are set. Otherwise the samples are
/// written to out, row-major, channels per pixel: one byte each for depths up to 8 (unscaled: a
/// 2-bit sample is 0...3), two bytes in host order for 16; out_size must be their total.
/// Returns 0, or -1 with libpng's message in message.
static inline int kswap_png_decode_samples(const unsigned char *data, size_t size, unsigned char *out,
                                           size_t out_size, unsigned *width, unsigned *height, int *bit_depth,
                                           int *color_type, int *channels, char *message, size_t message_size) {
  struct kswap_png_source source = {data, size, 0, message, message_size};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, kswap_png_error, kswap_png_warning);
  if (png == NULL) {
    snprintf(message, message_size, "libpng could not start");
    return -1;
  }
  png_infop info = png_create_info_struct(png);
  // Rows are read one at a time into out, so no row pointers need freeing after a longjmp.
  if (info == NULL || setjmp(source.jump)) {
    if (info == NULL) snprintf(message, message_size, "libpng could not start");
    png_destroy_read_struct(&png, info == NULL ? NULL : &info, NULL);
    return -1;
  }
  png_set_read_fn(png, &source, kswap_png_read);
  png_read_info(png, info);
  *width = png_get_image_width(png, info);
  *height = png_get_image_height(png, info);
  *bit_depth = png_get_bit_depth(png, info);
  *color_type = png_get_color_type(png, info);
  *channels = png_get_channels(png, info);
  if (out != NULL) {
    if (*bit_depth < 8) png_set_packing(png);  // one byte per sample, values unscaled
    const unsigned short probe = 1;
    if (*bit_depth == 16 && *(const unsigned char *)&probe == 1) png_set_swap(png);  // PNG is big-endian
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes * (size_t)*height != out_size) png_error(png, "the output buffer does not fit the image");
    for (int pass = 0; pass < passes; pass++) {
      for (unsigned row = 0; row < *height; row++) png_read_row(png, out + row * row_bytes, NULL);
    }
    png_read_end(png, NULL);
  }
  png_destroy_read_struct(&png, &info, NULL);
  return 0;
}

/// Encodes width x height 8-bit pixels of channels samples each (1: grey, 3: RGB), rows of width *
/// channels bytes, as a PNG in memory with libpng's simplified API. With out == NULL, sets *out_size
/// to the bytes the file needs; else writes it to out, whose room *out_size gives, and sets *out_size
/// to what was written. Returns 0, or -1 with libpng's message in message.
static inline int kswap_png_encode(const unsigned char *pixels, unsigned width, unsigned height, int channels,
                                   unsigned char *out, size_t *out_size, char *message, size_t message_size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (!png_image_write_to_memory(&image, out, out_size, 0, pixels, 0, NULL)) {
    snprintf(message, message_size, "%s", image.message);
    png_image_free(&image);
    return -1;
  }
  return 0;
}
