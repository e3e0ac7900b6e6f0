/*
 * main.c - the program each layering test links: every object of one
 * library, and of the libraries it may use, must resolve against each
 * other and the system libraries alone.
 */
int main(void)
{
	return 0;
}
