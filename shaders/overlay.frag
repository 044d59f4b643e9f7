#version 330 core
// Anti-aliased capsule: coverage from the distance of the pixel centre to the segment.
in vec2 f_px;
in vec4 f_color;
flat in vec2 f_a;
flat in vec2 f_b;
flat in float f_halfw;

out vec4 out_color;

void main() {
    vec2 ab = f_b - f_a;
    float t = clamp(dot(f_px - f_a, ab) / max(dot(ab, ab), 1e-12), 0.0, 1.0);
    float dist = length(f_px - (f_a + t * ab));
    float cov = clamp(f_halfw + 0.5 - dist, 0.0, 1.0);
    if (cov <= 0.0) discard;
    out_color = vec4(f_color.rgb, f_color.a * cov);
}
