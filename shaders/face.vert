#version 330 core
// Poses rigid-free vertices G with H = (f, R, t) and maps crop pixels to NDC.
// transform(X, H) = f R X + (tx, ty, 0)   (models/camera.py)
// pixel centre of (col c, row r) is at (c, r), y down:
//   ndc.x = 2 (px + .5) / w - 1,  ndc.y = u_flip_y * (2 (py + .5) / h - 1)
// u_flip_y = +1: the first framebuffer row in memory is image row 0 (off-screen read back);
// u_flip_y = -1: on-screen (GL window origin bottom-left), ndc.y = 1 - 2 (py + .5) / h.
// Non-indexed triangle list: corner k of a triangle gets barycentric e_k (gl_VertexID % 3).
uniform mat3 u_R;
uniform float u_f;
uniform vec2 u_t;
uniform vec2 u_size;
uniform float u_depth_scale;  // > max |transform z|, maps depth into (-1, 1)
uniform float u_flip_y;

in vec3 in_pos;
in vec2 in_uv;

out vec2 v_uv;
out vec3 v_bary;
out float v_z;

void main() {
    vec3 Y = u_f * (u_R * in_pos) + vec3(u_t, 0.0);
    vec2 ndc = 2.0 * (Y.xy + 0.5) / u_size - 1.0;
    ndc.y *= u_flip_y;
    int k = gl_VertexID % 3;
    v_bary = vec3(k == 0, k == 1, k == 2);
    v_uv = in_uv;
    v_z = Y.z;
    gl_Position = vec4(ndc, Y.z / u_depth_scale, 1.0);
}
