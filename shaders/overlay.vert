#version 330 core
// Overlay segments in image pixel coordinates (pixel (c, r) centre at (c, r), y down).
// A point is a segment of length 0; the geometry shader turns each segment into a quad.
in vec2 in_pos;
in vec4 in_color;
in float in_width;

out vec2 g_pos;
out vec4 g_color;
out float g_width;

void main() {
    g_pos = in_pos;
    g_color = in_color;
    g_width = in_width;
    gl_Position = vec4(0.0, 0.0, 0.0, 1.0);
}
