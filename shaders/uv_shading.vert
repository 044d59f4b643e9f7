#version 330 core
// Rasterise the mesh at its UV positions: framebuffer pixel (column j, row i) is texel
// (i, j) with centre uv = ((j + .5) / T, (i + .5) / T) (rows read back first-row-first).
in vec2 in_uv;
in vec3 in_pos;
in vec3 in_normal;

out vec3 v_pos;
out vec3 v_normal;

void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    gl_Position = vec4(in_uv * 2.0 - 1.0, 0.0, 1.0);
}
