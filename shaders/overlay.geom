#version 330 core
// Segment (a, b) of width w -> quad covering the capsule around it plus a 1 px margin.
layout(lines) in;
layout(triangle_strip, max_vertices = 4) out;

uniform vec2 u_size;     // (w, h) pixels
uniform float u_flip_y;  // +1: off-screen read back row 0 first; -1: on-screen

in vec2 g_pos[];
in vec4 g_color[];
in float g_width[];

out vec2 f_px;
out vec4 f_color;
flat out vec2 f_a;
flat out vec2 f_b;
flat out float f_halfw;

void emit(vec2 p) {
    vec2 ndc = 2.0 * (p + 0.5) / u_size - 1.0;
    ndc.y *= u_flip_y;
    f_px = p;
    f_color = g_color[0];
    f_a = g_pos[0];
    f_b = g_pos[1];
    f_halfw = 0.5 * g_width[0];
    gl_Position = vec4(ndc, 0.0, 1.0);
    EmitVertex();
}

void main() {
    vec2 a = g_pos[0], b = g_pos[1];
    vec2 d = b - a;
    float len = length(d);
    vec2 dir = len > 1e-6 ? d / len : vec2(1.0, 0.0);
    vec2 nrm = vec2(-dir.y, dir.x);
    float e = 0.5 * g_width[0] + 1.0;
    emit(a - e * dir - e * nrm);
    emit(a - e * dir + e * nrm);
    emit(b + e * dir - e * nrm);
    emit(b + e * dir + e * nrm);
    EndPrimitive();
}
