#version 330 core
// Depth of the mesh seen from a directional light (orthographic light-space matrix).
uniform mat4 u_mvp;
in vec3 in_pos;
void main() {
    gl_Position = u_mvp * vec4(in_pos, 1.0);
}
